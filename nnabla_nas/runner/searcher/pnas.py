"""`ProxylessNasSearcher`: one sampled path per step, REINFORCE on ``alpha``.

References:
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
    Williams. Simple statistical gradient-following algorithms for
    connectionist reinforcement learning. Machine Learning, 1992.
"""

from collections import defaultdict
from functools import cached_property
from typing import Dict, Optional, Tuple

import nnabla as nn
import numpy as np

from ...module.mixedop import fixed_alphas
from ...utils.context import release_memory_cache
from ...utils.registry import ConfigError
from ..registry import RUNNERS
from .darts import DartsSearcher
from .score import ScoreSum

REWARDS = ("accuracy", "loss")


@RUNNERS.register("ProxylessNasSearcher")
class ProxylessNasSearcher(DartsSearcher):
    """ProxylessNAS: the network runs in ``sample`` mode, so each graph build
    draws one operation per choice point and only that path exists in memory.

    * Weight step: sample a path, update that path's weights (the optimizer
      holds only them; its state for the others is kept aside, not reset).
    * Architecture step: draw ``n_iter`` paths, score each on the same
      validation mini-batches with reward ``r = R * prod_j min(1, T_j/c_j)^w_j``
      (``R = 1 - error`` or ``-loss``; ``c_j`` the estimate of regularizer
      ``j``, ``T_j`` its bound, ``w_j`` its weight), and move ``alpha`` along
      the score-function gradient ``mean_i (r_i - b) grad log p(a_i)`` with a
      moving-average baseline ``b`` (decay ``baseline_decay``).

    The config gives ``reward``, ``n_iter`` and ``baseline_decay`` in its
    ``hparams`` section and the regularizers in ``optimizer.regularizer``.

    Args:
        model, optimizer, dataloader, args: as :class:`Runner`.
        regularizer: Name -> estimator (``LatencyEstimator``, ``MemoryEstimator``).
        reward: ``accuracy`` (``1 - error``) or ``loss`` (``-loss``) of a
            sampled architecture on the validation mini-batches.
        n_iter: Architectures sampled per architecture update.
        baseline_decay: Decay of the reward's moving-average baseline, in [0, 1).
    """

    network_mode = "sample"
    dynamic_graph = True
    recompute_default = False  # one path in memory: nothing to gain

    def __init__(self, model, optimizer, dataloader, args, regularizer: Optional[Dict] = None,
                 reward: str = "accuracy", n_iter: int = 10, baseline_decay: float = 0.95,
                 comm=None):
        super().__init__(model, optimizer, dataloader, args, comm)
        self.check_options({"reward": reward, "n_iter": n_iter,
                            "baseline_decay": baseline_decay}, path="ProxylessNasSearcher")
        self.regularizer = dict(regularizer or {})
        self.reward = reward
        self.n_iter = int(n_iter)
        self.baseline_decay = float(baseline_decay)
        self.baseline: Optional[float] = None
        self._estimates = defaultdict(list)

    @classmethod
    def check_options(cls, options: Dict[str, object], path: str = "hparams") -> None:
        if "reward" in options and options["reward"] not in REWARDS:
            raise ConfigError(f"{path}.reward: unknown reward '{options['reward']}'; "
                              f"valid: {', '.join(REWARDS)}")
        if "n_iter" in options and int(options["n_iter"]) < 1:
            raise ConfigError(f"{path}.n_iter: must be at least 1, got {options['n_iter']}")
        decay = options.get("baseline_decay", 0.0)
        if not 0 <= decay < 1:
            raise ConfigError(f"{path}.baseline_decay: must be in [0, 1), got {decay}")

    def state(self) -> dict:
        return {**super().state(), "baseline": self.baseline,
                "estimates": {k: list(v) for k, v in self._estimates.items()}}

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        self.baseline = state.get("baseline")
        self._estimates.clear()
        self._estimates.update({k: list(v) for k, v in state.get("estimates", {}).items()})

    @cached_property
    def score_sum(self) -> ScoreSum:
        """Sums the MixedOps' scores of a built path into one vector (the model's
        structure is fixed while the runner uses it)."""
        return ScoreSum(self.arch_parameters, self.mixed_ops)

    def valid_on_batch(self):
        """Architecture step: REINFORCE over ``n_iter`` sampled architectures."""
        # The weight step's buffers are freed but cached; the scoring passes need
        # others (forward only, other paths), so hand the cache back first.
        release_memory_cache()
        loader = self.dataloader["valid"]
        batches = [loader.next() for _ in range(self.args.accum_valid)]
        arch = self.arch_parameters
        scores = self.score_sum
        with fixed_alphas(scores.owners):  # alpha changes only after the loop
            drawn = [self._score_path(batches) for _ in range(self.n_iter)]
        rewards, paths, losses, errors = (list(column) for column in zip(*drawn))
        # Data parallelism: every rank scored the same paths on its part of the
        # batches; the rewards (and the baseline from them) are the means over ranks.
        rewards, losses, errors = self.mean_over_ranks(rewards, losses, errors)
        baseline = float(np.mean(rewards)) if self.baseline is None else self.baseline
        optimizer = self.optimizer["valid"]
        optimizer.set_parameters(arch)
        # Descent on -E[r]: grad = -mean (r - b) grad log p = mean (r - b) * score.
        advantages = np.array([r - baseline for r in rewards])
        scores.assign_grads(np.mean(advantages[:, None] * np.stack(paths), axis=0))
        optimizer.update()
        decay = self.baseline_decay
        self.baseline = decay * baseline + (1 - decay) * float(np.mean(rewards))
        self.check_arch_finite()
        return float(np.mean(losses)), float(np.mean(errors))

    def _score_path(self, batches) -> Tuple[float, np.ndarray, float, float]:
        """Draws one path and scores it on ``batches``: returns its reward, flat
        score (:class:`ScoreSum`), loss and error. Its graph is dropped on return,
        before the next path is built."""
        self.score_sum.forget_draws()
        with nn.no_grad():
            graph = self.graph("arch", self.dataloader["valid"].batch_size, training=True)
        score = self.score_sum.of_last_build()
        loss = err = 0.0
        for batch in batches:
            graph.feed(batch)
            b_loss, b_err = graph.forward(clear_buffer=True)
            loss += b_loss / len(batches)
            err += b_err / len(batches)
        self.check_finite(loss, "valid loss")
        reward = 1.0 - err if self.reward == "accuracy" else -loss
        for name, estimator in self.regularizer.items():
            self._estimates[name].append(estimator.predict(self.model))
            reward *= estimator.factor(self.model)
        return reward, score, loss, err

    def epoch_extra(self) -> str:
        """The epoch's mean hardware estimates of the sampled architectures (also
        logged); starts the next epoch's means."""
        estimates = {k: float(np.mean(v)) for k, v in self._estimates.items() if v}
        self._estimates.clear()
        if not estimates:
            return ""
        text = " ".join(f"{k}={v:.4g}{getattr(self.regularizer[k], 'unit', '')}"
                        for k, v in estimates.items())
        self.reporter.info(f"epoch {self.epoch} mean estimates of sampled architectures: "
                           f"{text}")
        return text
