"""`Merging`: concatenates, adds or multiplies several inputs."""

from functools import reduce

import nnabla.functions as F

from .module import Module

MODES = ("concat", "add", "mul")


class Merging(Module):
    """Merges several Variables into one.

    Args:
        mode: ``concat`` (along ``axis``), ``add`` or ``mul`` (element-wise).
        axis: Concatenation axis.
    """

    def __init__(self, mode: str, axis: int = 1):
        if mode not in MODES:
            raise ValueError(f"Merging mode must be one of {', '.join(MODES)}, got '{mode}'")
        self._mode, self._axis = mode, axis

    def call(self, *inputs):
        if self._mode == "concat":
            return F.concatenate(*inputs, axis=self._axis)
        if self._mode == "add":
            return reduce(F.add2, inputs)
        return reduce(F.mul2, inputs)

    def extra_repr(self) -> str:
        return f"mode={self._mode}, axis={self._axis}"
