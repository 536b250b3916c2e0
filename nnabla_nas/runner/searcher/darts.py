"""`DartsSearcher`: DARTS, first or second order, with optional beta-decay.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
    Ye, Li, Li, Chen, Fan, Ouyang. beta-DARTS: Beta-Decay Regularization for
    Differentiable Architecture Search. CVPR 2022.
"""

from typing import Dict, List, Optional

import numpy as np

from ...module.batchnorm import kept_running_stats
from ...module.mixedop import softmax
from ...utils.registry import ConfigError
from ..registry import RUNNERS
from ..runner import frozen
from . import monitor
from .search import Searcher

#: The DARTS paper's scale of the finite-difference step of the unrolled
#: gradient: ``eps = HVP_SCALE / ||dL_val/dw'||``.
HVP_SCALE = 0.01


@RUNNERS.register("DartsSearcher")
class DartsSearcher(Searcher):
    """Gradient descent on ``alpha`` with the validation loss.

    Both steps run the same cached graph of the supernet (every candidate
    operation, mixed by ``softmax(alpha)``). The weight step freezes ``alpha``
    and the architecture step freezes the weights, so neither computes
    gradients it would throw away.

    The config gives the keyword arguments below in its ``hparams`` section;
    each variant is off by default (first-order DARTS).

    Args:
        model, optimizer, dataloader, args: as :class:`Runner`.
        second_order: The paper's second-order (unrolled) architecture
            gradient: the gradient of ``L_val(w', alpha)`` at the virtual weights
            ``w' = w - xi * grad_w L_train(w, alpha)`` (``xi``: the learning rate
            of the next weight update; a plain gradient step, without the weight
            optimizer's momentum and weight decay), through ``w'`` as well:
            ``dL_val/dalpha(w') - xi * (grad_alpha L_train(w+) -
            grad_alpha L_train(w-)) / (2 eps)`` with ``w+- = w +- eps v``,
            ``v = dL_val/dw'`` and ``eps = 0.01 / ||v||``. The training terms use
            the mini-batches of the weight step just before (no extra data); the
            weights and batch-norm statistics are given back bit for bit. It
            costs three more forward and backward passes per architecture step.
        beta_decay: Weight ``lambda`` of beta-DARTS' beta-decay regularizer, added
            to the architecture loss: ``lambda * mean_i logsumexp(alpha_i)`` over
            the distinct alphas of the choice points, whose gradient
            ``lambda * softmax(alpha_i) / n`` is added to the architecture
            gradient. 0 (default) is off. Constant (the authors' code raises it
            with the epoch).
    """

    network_mode = "full"
    recompute_default = True  # the full supernet is DARTS' memory problem

    def __init__(self, model, optimizer, dataloader, args, second_order: bool = False,
                 beta_decay: float = 0.0, comm=None):
        super().__init__(model, optimizer, dataloader, args, comm)
        DartsSearcher.check_options({"second_order": second_order, "beta_decay": beta_decay},
                                    path="DartsSearcher")
        self.second_order = bool(second_order)
        self.beta_decay = float(beta_decay)
        #: The mini-batches of the last weight step, for the second-order
        #: architecture step that follows it.
        self._train_batches: Optional[List[tuple]] = None

    @classmethod
    def check_options(cls, options: Dict[str, object], path: str = "hparams") -> None:
        decay = options.get("beta_decay", 0.0)
        if isinstance(decay, bool) or not np.isfinite(decay) or decay < 0:
            raise ConfigError(f"{path}.beta_decay: must be a number of at least 0 (0 is off), "
                              f"got {decay!r}")

    # -- the weight step ---------------------------------------------------------
    def train_on_batch(self, warmup: bool = False):
        batches = None
        if self.second_order and not warmup:  # kept for the architecture step
            loader = self.dataloader["train"]
            batches = [loader.next() for _ in range(self.args.accum_train)]
        self._train_batches = batches
        return self.weight_update(self.weight_optimizer(warmup), "train",
                                  self.args.accum_train, key="search", batches=batches)

    # -- the architecture step ---------------------------------------------------
    def valid_on_batch(self):
        optimizer = self.optimizer["valid"]
        optimizer.set_parameters(self.arch_parameters)
        optimizer.zero_grad()
        result = self.arch_gradient()
        optimizer.update()
        self.check_arch_finite()
        return result

    def arch_gradient(self):
        """Sets the architecture parameters' gradients (zeroed by the caller) to
        this step's: first or second order, plus the beta-decay term. Returns the
        validation (loss, error) of the step (at the virtual weights ``w'`` for
        the second order)."""
        if self.second_order:
            result = self._unrolled_gradient()
        else:
            with frozen(self.net_parameters.values()):
                graph = self.graph("search", self.dataloader["valid"].batch_size, training=True)
                result = self.accumulate(graph, "valid", self.args.accum_valid)
        if self.beta_decay:
            self.add_beta_decay()
        return result

    def add_beta_decay(self) -> None:
        """Adds the gradient of ``beta_decay * mean_i logsumexp(alpha_i)`` over the
        distinct alphas of the choice points: ``beta_decay * softmax(alpha_i) / n``."""
        alphas = monitor.choice_alphas(self.mixed_ops)
        scale = self.beta_decay / max(1, len(alphas))
        for alpha in alphas:
            p = softmax(alpha.d).reshape(alpha.shape)
            alpha.g = alpha.g + (scale * p).astype(alpha.g.dtype)

    def _unrolled_gradient(self):
        """The second-order gradient (see the class docstring); every weight and
        batch-norm statistic is as before on return."""
        weights = list(self.optimizer_parameters("train").values())
        arch = list(self.arch_parameters.values())
        batches = self._train_batches
        if batches is None:  # called on its own, not after a weight step
            loader = self.dataloader["train"]
            batches = [loader.next() for _ in range(self.args.accum_train)]
        self._train_batches = None
        train = self.graph("search", self.dataloader["train"].batch_size, training=True)
        valid = self.graph("search", self.dataloader["valid"].batch_size, training=True)
        xi = self.weight_optimizer(False).learning_rate()
        saved = [w.d.copy() for w in weights]
        try:
            with kept_running_stats(self.model):
                # Virtual step: w' = w - xi * grad_w L_train(w, alpha).
                with frozen(arch):
                    grad = self._gradients(weights, train, "train", batches)
                for w, w0, g in zip(weights, saved, grad):
                    w.d = w0 - xi * g
                # dL_val(w', alpha) / d(alpha, w').
                for p in weights + arch:
                    p.grad.zero()
                result = self.accumulate(valid, "valid", self.args.accum_valid)
                self.comm.allreduce_mean(weights)
                v = [w.g.copy() for w in weights]
                d_alpha = [a.g.copy() for a in arch]
                # Hessian-vector product by central differences at w +- eps v.
                norm = float(np.sqrt(sum(np.dot(x.ravel().astype(np.float64),
                                                x.ravel().astype(np.float64)) for x in v)))
                if norm > 0:
                    eps = HVP_SCALE / norm
                    with frozen(self.net_parameters.values()):
                        sides = []
                        for sign in (1.0, -1.0):
                            for w, w0, x in zip(weights, saved, v):
                                w.d = w0 + sign * eps * x
                            sides.append(self._gradients(arch, train, "train", batches,
                                                         reduce=False))
                    for a, d, plus, minus in zip(arch, d_alpha, *sides):
                        d -= xi * (plus - minus) / (2 * eps)
                for a, d in zip(arch, d_alpha):
                    a.g = d
        finally:
            for w, w0 in zip(weights, saved):
                w.d = w0
        return result

    def _gradients(self, params, graph, split: str, batches, reduce: bool = True):
        """Gradients of ``split``'s loss on ``batches`` with respect to ``params``
        (copies), averaged over the ranks when ``reduce`` (the architecture
        optimizer averages its gradients itself)."""
        for p in params:
            p.grad.zero()
        self.accumulate(graph, split, len(batches), batches)
        if reduce:
            self.comm.allreduce_mean(params)
        return [p.g.copy() for p in params]
