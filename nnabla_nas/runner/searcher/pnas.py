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

from ...module.batchnorm import kept_running_stats
from ...module.mixedop import binary_gates, fixed_alphas
from ...utils.context import release_memory_cache
from ...utils.registry import ConfigError
from ..registry import RUNNERS
from ..runner import frozen
from .darts import DartsSearcher
from .score import ScoreSum

REWARDS = ("accuracy", "loss")
#: How the architecture step estimates the gradient of ``alpha``.
GRADIENT_ESTIMATORS = ("reinforce", "binary_gates")


@RUNNERS.register("ProxylessNasSearcher")
class ProxylessNasSearcher(DartsSearcher):
    """ProxylessNAS: the network runs in ``sample`` mode, so each graph build
    draws one operation per choice point and only that path exists in memory.

    * Weight step: sample a path, update that path's weights (the optimizer
      holds only them; its state for the others is kept aside, not reset).
    * Architecture step: draw ``n_iter`` paths, score each on the same
      validation mini-batches with reward ``r = (1 - error) * f`` (or
      ``r = -loss / f`` with ``reward="loss"``), where
      ``f = prod_j min(1, T_j/c_j)^w_j`` (``c_j`` the estimate of regularizer
      ``j``, ``T_j`` its bound, ``w_j`` its weight), and move ``alpha`` along
      the score-function gradient ``mean_i (r_i - b) grad log p(a_i)`` with a
      moving-average baseline ``b`` (decay ``baseline_decay``).

    The config gives the keyword arguments below in its ``hparams`` section
    and the regularizers in ``optimizer.regularizer``.

    With ``gradient_estimator="binary_gates"`` the architecture step is the
    paper's gradient mode instead: every choice point builds two sampled
    operators behind binary gates (:func:`~nnabla_nas.module.mixedop.binary_gates`),
    one forward and backward pass of the validation loss gives the gates'
    gradients, ``alpha`` descends on the gradient they estimate, and the two
    sampled entries of each ``alpha`` are shifted so that the probabilities of
    the operators that were not sampled stay as they were.

    Either way, the architecture step leaves the batch-normalization running
    statistics as it found them: its passes normalise with the statistics of
    the validation batch (training mode, as the weight steps do) and the
    running ones are restored afterwards.

    Args:
        model, optimizer, dataloader, args: as :class:`Runner`.
        regularizer: Name -> estimator (``LatencyEstimator``, ``MemoryEstimator``);
            REINFORCE only.
        reward: ``accuracy`` (``1 - error``) or ``loss`` (``-loss``) of a sampled
            architecture on the validation mini-batches; REINFORCE only.
        n_iter: Architectures sampled per architecture update (REINFORCE).
        baseline_decay: Decay of the reward's moving-average baseline, in [0, 1).
        gradient_estimator: ``reinforce`` or ``binary_gates``.
        train_paths: Paths drawn per weight step, all on the same training
            batch; their gradients are summed before the one update (FairNAS'
            accumulation), so every operation is trained more often per step,
            for ``train_paths`` times the work.
    """

    network_mode = "sample"
    dynamic_graph = True
    recompute_default = False  # one path in memory: nothing to gain

    def __init__(self, model, optimizer, dataloader, args, regularizer: Optional[Dict] = None,
                 reward: str = "accuracy", n_iter: int = 10, baseline_decay: float = 0.95,
                 gradient_estimator: str = "reinforce", train_paths: int = 1, comm=None):
        super().__init__(model, optimizer, dataloader, args, comm=comm)
        self.check_options({"reward": reward, "n_iter": n_iter, "baseline_decay": baseline_decay,
                            "gradient_estimator": gradient_estimator,
                            "train_paths": train_paths}, path="ProxylessNasSearcher")
        if gradient_estimator == "binary_gates" and regularizer:
            raise ConfigError("optimizer.regularizer: the binary_gates gradient estimator "
                              "takes no regularizer (its gradient is the validation loss's); "
                              "use gradient_estimator 'reinforce' for a latency or memory "
                              "budget")
        self.regularizer = dict(regularizer or {})
        self.reward = reward
        self.n_iter = int(n_iter)
        self.baseline_decay = float(baseline_decay)
        self.gradient_estimator = gradient_estimator
        self.train_paths = int(train_paths)
        self.baseline: Optional[float] = None
        self._estimates = defaultdict(list)

    @classmethod
    def check_options(cls, options: Dict[str, object], path: str = "hparams") -> None:
        if "reward" in options and options["reward"] not in REWARDS:
            raise ConfigError(f"{path}.reward: unknown reward '{options['reward']}'; "
                              f"valid: {', '.join(REWARDS)}")
        for key in ("n_iter", "train_paths"):
            value = options.get(key, 1)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ConfigError(f"{path}.{key}: must be an integer of at least 1, "
                                  f"got {value!r}")
        decay = options.get("baseline_decay", 0.0)
        if not 0 <= decay < 1:
            raise ConfigError(f"{path}.baseline_decay: must be in [0, 1), got {decay}")
        estimator = options.get("gradient_estimator", "reinforce")
        if estimator not in GRADIENT_ESTIMATORS:
            raise ConfigError(f"{path}.gradient_estimator: unknown estimator '{estimator}'; "
                              f"valid: {', '.join(GRADIENT_ESTIMATORS)}")

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

    def train_on_batch(self, warmup: bool = False):
        """Weight step: ``train_paths`` sampled paths on the same batch, their
        gradients summed, one update of every weight on any of them."""
        if self.train_paths == 1:
            return super().train_on_batch(warmup)
        optimizer = self.weight_optimizer(warmup)
        loader = self.dataloader["train"]
        batches = [loader.next() for _ in range(self.args.accum_train)]
        for param in self.net_parameters.values():
            param.grad.zero()
        used = {}
        loss = err = 0.0
        with frozen(self.arch_parameters.values()):
            for _ in range(self.train_paths):
                graph = self.graph("search", loader.batch_size, training=True)
                used.update(self.model.get_net_parameters(grad_only=True))
                for batch in batches:
                    graph.feed(batch)
                    b_loss, b_err = graph.forward()
                    self.check_finite(b_loss, "train loss")
                    graph.loss.backward(1.0 / len(batches), clear_buffer=True)
                    loss += b_loss / len(batches) / self.train_paths
                    err += b_err / len(batches) / self.train_paths
                del graph
        optimizer.set_parameters(used)
        optimizer.update()
        return loss, err

    def valid_on_batch(self):
        """Architecture step: REINFORCE over ``n_iter`` sampled architectures, or
        the binary gates' gradient; batch-norm running statistics untouched."""
        # The weight step's buffers are freed but cached; the scoring passes need
        # others (forward only, other paths), so hand the cache back first.
        release_memory_cache()
        loader = self.dataloader["valid"]
        batches = [loader.next() for _ in range(self.args.accum_valid)]
        with kept_running_stats(self.model):
            if self.gradient_estimator == "binary_gates":
                result = self._gates_step(batches)
            else:
                result = self._reinforce_step(batches)
        self.check_arch_finite()
        return result

    def _reinforce_step(self, batches):
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
        return float(np.mean(losses)), float(np.mean(errors))

    def _gates_step(self, batches):
        """The gradient mode: one build with two gated operators per choice point,
        forward and backward over ``batches``, descent on the gates' estimate."""
        scores = self.score_sum
        with frozen(self.net_parameters.values()), binary_gates(scores.owners):
            graph = self.graph("arch", self.dataloader["valid"].batch_size, training=True)
            loss = err = 0.0
            for batch in batches:
                graph.feed(batch)
                b_loss, b_err = graph.forward()
                self.check_finite(b_loss, "valid loss")
                graph.loss.backward(1.0 / len(batches), clear_buffer=True)
                loss += b_loss / len(batches)
                err += b_err / len(batches)
            del graph
        flat = np.zeros(scores.size)
        touched = {}  # flat index of an alpha's first entry -> its sampled places
        for m, place in zip(scores.owners, scores.places):
            grad = m.gate_gradient
            if grad is not None:
                flat[place] += grad
                touched.setdefault(int(place[0]), set()).update(int(place[k])
                                                                for k in m.gate_pair)
        before = np.concatenate([a.d.ravel() for a in self.arch_parameters.values()])
        optimizer = self.optimizer["valid"]
        optimizer.set_parameters(self.arch_parameters)
        scores.assign_grads(flat)
        optimizer.update()
        # Keep the probabilities of the operators no pair sampled: shift each
        # alpha's sampled entries so that their total softmax mass is unchanged.
        after = np.concatenate([a.d.ravel() for a in self.arch_parameters.values()])
        for places in touched.values():
            idx = np.array(sorted(places))
            after[idx] += _logsumexp(before[idx]) - _logsumexp(after[idx])
        start = 0
        for alpha in self.arch_parameters.values():
            alpha.d = after[start:start + alpha.size].reshape(alpha.shape)
            start += alpha.size
        return loss, err

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
        factor = 1.0
        for name, estimator in self.regularizer.items():
            cost = estimator.predict(self.model)
            self._estimates[name].append(cost)
            factor *= estimator.factor_of(cost)
        # The factor (<= 1) lowers the reward of an architecture over budget:
        # its accuracy is multiplied by it, its loss divided by it.
        reward = (1.0 - err) * factor if self.reward == "accuracy" else -loss / factor
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


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return top + float(np.log(np.sum(np.exp(x - top))))
