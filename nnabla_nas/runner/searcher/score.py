"""`ScoreSum`: the score function of one sampled architecture as one flat vector."""

from typing import Dict, Sequence

import nnabla as nn
import numpy as np

from ...module import MixedOp
from ...module.mixedop import scores


class ScoreSum:
    """``grad log p(a)`` of one built architecture over all architecture
    parameters, as one flat float64 vector (the parameters in ``arch`` order,
    each flattened): each :class:`~nnabla_nas.module.MixedOp` adds its
    :attr:`~nnabla_nas.module.MixedOp.score` at its alpha's place, so MixedOps
    sharing an alpha are summed. (One vector per path instead of a dict of
    small arrays: the bookkeeping of the architecture step is a few numpy calls.)

    Args:
        arch: Name -> architecture parameter.
        mixed_ops: The model's MixedOps; those whose alpha is not in ``arch``
            are ignored.
    """

    def __init__(self, arch: Dict[str, nn.Variable], mixed_ops: Sequence[MixedOp]):
        self.arch = arch
        offsets = np.cumsum([0] + [alpha.size for alpha in arch.values()])
        self.size = int(offsets[-1])
        start = {id(alpha): int(o) for alpha, o in zip(arch.values(), offsets)}
        self.owners = [m for m in mixed_ops if id(m.alpha) in start]
        self.places = [start[id(m.alpha)] + np.arange(m.alpha.size) for m in self.owners]
        self.all_places = (np.concatenate(self.places) if self.places
                           else np.zeros(0, dtype=np.int64))

    def forget_draws(self) -> None:
        """Clears the owners' last draws (call before building the next path)."""
        for m in self.owners:
            m.forget_draw()

    def of_last_build(self) -> np.ndarray:
        """The flat score of the MixedOps the last build called."""
        called = [(last, place) for last, place in
                  zip((m.last_draw for m in self.owners), self.places) if last is not None]
        if not called:
            return np.zeros(self.size)
        planned = [m.planned_score for m in self.owners]
        if any(x is not None for x in planned):  # some draws were made by their callers
            values = np.concatenate([
                scores([last]) if given is None else np.asarray(given, dtype=np.float64)
                for last, given in zip((m.last_draw for m in self.owners), planned)
                if last is not None])
        else:
            values = scores([last for last, _ in called])  # each owner's MixedOp.score
        places = (self.all_places if len(called) == len(self.owners)
                  else np.concatenate([place for _, place in called]))
        # Sums repeated places in order, from 0.0: as adding score after score.
        return np.bincount(places, weights=values, minlength=self.size)

    def assign_grads(self, flat: np.ndarray) -> None:
        """Writes a flat vector into the architecture parameters' gradients."""
        start = 0
        for alpha in self.arch.values():
            alpha.g = flat[start:start + alpha.size].reshape(alpha.shape)
            start += alpha.size
