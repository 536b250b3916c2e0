"""Activations: `ReLU`, `ReLU6` and `LeakyReLU`."""

import nnabla.functions as F
from nnabla import parameter as nn_parameter

from .module import Module


class ReLU(Module):
    """``max(x, 0)``.

    Two nnabla kernels compute it with the same bits, forward and backward
    (``-0``, ``NaN`` and infinities included; ``tests/module/test_layers.py``),
    and the module picks one by what the graph is for
    (``bench/micro.py kernels``):

    * inside ``nn.no_grad()`` (graphs that are only run forward, such as
      ProxylessNAS' reward evaluations and inference), ``F.maximum_scalar(x,
      0)``, about 18x faster than ``F.relu`` on CPU;
    * otherwise ``F.relu``, whose backward needs only its output, so the
      input's buffer is freed after the forward pass (``maximum_scalar``'s
      backward needs the input: about 80 MiB more held for one sampled
      DARTS path at the paper's search size).

    Args:
        inplace: Kept for compatibility; nnabla ignores it for ReLU ("obsolete
            and ignored": outputs are never written over inputs).
    """

    def __init__(self, inplace: bool = False):
        self._inplace = inplace

    def call(self, input):
        if nn_parameter.current_no_grad:
            return F.maximum_scalar(input, 0.0)
        return F.relu(input)

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
