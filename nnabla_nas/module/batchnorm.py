"""Batch normalization: `BatchNormalization`, and `kept_running_stats`."""

from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence

import nnabla.function_bases as FB
import nnabla.functions as F
import numpy as np

from .module import Module
from .parameter import Parameter


class BatchNormalization(Module):
    """Batch normalization, as :func:`nnabla.parametric_functions.batch_normalization`.

    Uses batch statistics (and updates the running ones) when
    :attr:`training`, the running statistics otherwise.

    Args:
        n_features: Number of features (size of the normalised axis).
        n_dims: Rank of the input.
        axes: Axes holding the features (default ``[1]``).
        decay_rate: Decay of the running mean and variance.
        eps: Added to the variance.
        output_stat: Also output the batch mean and variance.
        fix_parameters: ``_beta`` and ``_gamma`` get ``need_grad=False``.
        param_init: Initial arrays, keys ``beta``, ``gamma``, ``mean``, ``var``.
    """

    def __init__(self, n_features: int, n_dims: int, axes: Sequence[int] = (1,),
                 decay_rate: float = 0.9, eps: float = 1e-5, output_stat: bool = False,
                 fix_parameters: bool = False,
                 param_init: Optional[Dict[str, np.ndarray]] = None):
        axes = list(axes)
        shape = [1] * n_dims
        for axis in axes:
            shape[axis] = n_features
        init = dict(param_init or {})
        ones = lambda shape: np.ones(shape, dtype=np.float32)  # noqa: E731
        self._beta = Parameter(shape, need_grad=not fix_parameters, initializer=init.get("beta"))
        self._gamma = Parameter(shape, need_grad=not fix_parameters,
                                initializer=init.get("gamma", ones))
        self._mean = Parameter(shape, need_grad=False, initializer=init.get("mean"))
        self._var = Parameter(shape, need_grad=False, initializer=init.get("var", ones))
        self._n_features, self._axes = n_features, axes
        self._decay_rate, self._eps, self._output_stat = decay_rate, eps, output_stat

    def call(self, input):
        if len(self._axes) == 1 and self._axes[0] >= 0 and not self._output_stat:
            # What F.batch_normalization calls for one non-negative axis and
            # existing beta/gamma/mean/var, without its checks and argument
            # rewriting (a tenth of a graph build in a sampled search).
            return FB.batch_normalization(input, self._beta, self._gamma, self._mean,
                                          self._var, axes=self._axes,
                                          decay_rate=self._decay_rate, eps=self._eps,
                                          batch_stat=self.training)
        return F.batch_normalization(input, self._beta, self._gamma, self._mean, self._var,
                                     axes=self._axes, decay_rate=self._decay_rate,
                                     eps=self._eps, batch_stat=self.training,
                                     output_stat=self._output_stat)

    def extra_repr(self) -> str:
        return (f"n_features={self._n_features}, axes={self._axes}, "
                f"decay_rate={self._decay_rate}, eps={self._eps}")


@contextmanager
def kept_running_stats(module: Module) -> Iterator[None]:
    """Within the block, the running statistics (``_mean``, ``_var``) of every
    :class:`BatchNormalization` in ``module`` are given back, after it, as they
    were before it. For passes that must leave no trace: batch normalization in
    training mode normalises with the statistics of the batch, and nnabla
    updates the running ones in the forward pass."""
    norms = [m for _, m in module.get_modules() if isinstance(m, BatchNormalization)]
    saved = [(m._mean.d.copy(), m._var.d.copy()) for m in norms]
    try:
        yield
    finally:
        for m, (mean, var) in zip(norms, saved):
            m._mean.d, m._var.d = mean, var
