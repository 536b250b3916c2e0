"""`Zero`: the DARTS ``none`` operation."""

import nnabla.functions as F

from .module import Module


class Zero(Module):
    """Outputs zeros of the input's shape subsampled by ``stride``.

    No gradient flows to the input (it does not depend on it).

    Args:
        stride: Subsampling of the last two (spatial) axes.
    """

    def __init__(self, stride=(1, 1)):
        self._stride = tuple(stride)

    def call(self, input):
        shape = list(input.shape)
        for i, s in enumerate(self._stride):
            axis = len(shape) - len(self._stride) + i
            shape[axis] = -(-shape[axis] // s)
        return F.constant(0, shape=shape)

    def extra_repr(self) -> str:
        return f"stride={self._stride}"
