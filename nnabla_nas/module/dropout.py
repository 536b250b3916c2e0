"""`Dropout`, and :func:`drop_mask`, the random masks of dropout and drop-path.

The masks are drawn from a module's own ``numpy.random.RandomState``, not by
nnabla's random functions (``F.dropout``, ``F.rand``): those use a generator
inside nnabla that cannot be saved, so a resumed run would draw other masks.
A module's ``rng`` is saved in checkpoints with the others.
"""

from typing import Callable, Optional, Sequence, Union

import nnabla as nn
import numpy as np
from nnabla.function import PythonFunction

from .module import Module


Probability = Union[float, Callable[[], float]]


class _DropMask(PythonFunction):
    """Outputs ``(u >= p) / (1 - p)`` with ``u`` uniform in ``[0, 1)``, drawn anew
    from ``rng`` at every forward pass (ones, drawing nothing, when ``p`` is 0).
    Its one input is a placeholder (nnabla functions need one); no gradient
    flows through it."""

    def __init__(self, ctx, shape: Sequence[int], drop_prob: Probability,
                 rng: np.random.RandomState):
        super().__init__(ctx)
        self._shape, self._drop_prob, self._rng = tuple(shape), drop_prob, rng

    @property
    def name(self) -> str:
        return "DropMask"

    def min_outputs(self) -> int:
        return 1

    def setup_impl(self, inputs, outputs):
        outputs[0].reset_shape(self._shape, True)

    def forward_impl(self, inputs, outputs):
        p = self._drop_prob() if callable(self._drop_prob) else self._drop_prob
        out = outputs[0].data.cast(np.float32)
        if p <= 0:
            out[...] = 1.0
            return
        out[...] = (self._rng.random_sample(self._shape) >= p) / (1.0 - p)

    def backward_impl(self, inputs, outputs, propagate_down, accum):
        pass  # the placeholder input needs no gradient


def drop_mask(shape: Sequence[int], drop_prob: Probability,
              rng: np.random.RandomState) -> nn.Variable:
    """A Variable of ``shape`` holding a fresh dropout mask at every forward pass:
    0 with probability ``drop_prob``, else ``1 / (1 - drop_prob)``, drawn from ``rng``.

    Args:
        drop_prob: A probability, or a function returning it, read at every
            forward pass (so a cached graph follows a schedule).
    """
    mask = _DropMask(nn.get_current_context(), shape, drop_prob, rng)(nn.Variable((1,)))
    mask.need_grad = False
    return mask


class Dropout(Module):
    """Zeros each element with probability ``drop_prob`` in training, scaling
    the rest by ``1 / (1 - drop_prob)``; identity when not training.

    Args:
        drop_prob: Probability of dropping an element, in ``[0, 1)``.
        rng: Random state of the masks (default: one seeded from numpy's global
            random state, so ``np.random.seed`` makes runs repeatable).
    """

    def __init__(self, drop_prob: float = 0.5, rng: Optional[np.random.RandomState] = None):
        if not 0 <= drop_prob < 1:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        self._drop_prob = drop_prob
        self.rng = rng if rng is not None else np.random.RandomState(
            np.random.randint(2 ** 31 - 1))

    def call(self, input):
        if not self.training or self._drop_prob == 0:
            return input
        return input * drop_mask(input.shape, self._drop_prob, self.rng)

    def extra_repr(self) -> str:
        return f"drop_prob={self._drop_prob}"
