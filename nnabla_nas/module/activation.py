"""Activations: `ReLU`, `ReLU6` and `LeakyReLU`."""

import nnabla.functions as F

from .module import Module


class ReLU(Module):
    """``max(x, 0)``.

    Args:
        inplace: Reuse the input buffer (nnabla's ``inplace``).
    """

    def __init__(self, inplace: bool = False):
        self._inplace = inplace

    def call(self, input):
        return F.relu(input, inplace=self._inplace)

    def extra_repr(self) -> str:
        return f"inplace={self._inplace}"


class ReLU6(Module):
    """``min(max(x, 0), 6)``."""

    def call(self, input):
        return F.relu6(input)


class LeakyReLU(Module):
    """``x`` if ``x > 0`` else ``alpha * x``.

    Args:
        alpha: Slope for negative inputs.
        inplace: Reuse the input buffer.
    """

    def __init__(self, alpha: float = 0.1, inplace: bool = False):
        self._alpha, self._inplace = alpha, inplace

    def call(self, input):
        return F.leaky_relu(input, alpha=self._alpha, inplace=self._inplace)

    def extra_repr(self) -> str:
        return f"alpha={self._alpha}, inplace={self._inplace}"
