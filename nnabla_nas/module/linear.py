"""Fully connected layer: `Linear`."""

from typing import Optional

import nnabla.functions as F
import nnabla.initializer as I
import numpy as np

from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Affine layer ``y = x W + b``, as :func:`nnabla.parametric_functions.affine`.

    Args:
        in_features: Size of the flattened input (axes from ``base_axis`` on).
        out_features: Number of outputs.
        base_axis: Axes before it are batch axes.
        w_init: Weight initializer (default Glorot uniform, as nnabla).
        b_init: Bias initializer (default zeros).
        rng: Random state for the default weight initializer.
        bias: Whether to add a bias ``_b``.
    """

    def __init__(self, in_features: int, out_features: int, base_axis: int = 1,
                 w_init=None, b_init=None, rng: Optional[np.random.RandomState] = None,
                 bias: bool = True):
        if w_init is None:
            w_init = I.UniformInitializer(
                I.calc_uniform_lim_glorot(in_features, out_features), rng=rng)
        self._W = Parameter((in_features, out_features), initializer=w_init)
        self._b = Parameter((out_features,), initializer=b_init) if bias else None
        self._in_features, self._out_features = in_features, out_features
        self._base_axis = base_axis

    def call(self, input):
        return F.affine(input, self._W, self._b, base_axis=self._base_axis)

    def extra_repr(self) -> str:
        return (f"in_features={self._in_features}, out_features={self._out_features}, "
                f"bias={self._b is not None}")
