"""`Dropout`."""

import nnabla.functions as F

from .module import Module


class Dropout(Module):
    """Zeros each element with probability ``drop_prob`` in training, scaling
    the rest by ``1 / (1 - drop_prob)``; identity when not training.

    Args:
        drop_prob: Probability of dropping an element, in ``[0, 1)``.
    """

    def __init__(self, drop_prob: float = 0.5):
        if not 0 <= drop_prob < 1:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        self._drop_prob = drop_prob

    def call(self, input):
        if not self.training or self._drop_prob == 0:
            return input
        return F.dropout(input, p=self._drop_prob)

    def extra_repr(self) -> str:
        return f"drop_prob={self._drop_prob}"
