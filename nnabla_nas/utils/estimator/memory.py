"""`MemoryEstimator`: parameter memory of the active path."""

from typing import Iterator

from .active import Network, active_modules
from .estimator import Estimator
from .registry import ESTIMATORS

#: Bytes per unit of memory.
MEMORY_UNITS = {"B": 1, "KB": 1e3, "MB": 1e6}


@ESTIMATORS.register()
class MemoryEstimator(Estimator):
    """Size of the parameters of the modules on the active path.

    Every parameter of an active module (see
    :func:`~nnabla_nas.utils.estimator.active.active_modules`) is counted
    once, even when modules share it, at :attr:`bytes_per_value` bytes per
    element. Batch-norm running statistics count (inference needs them);
    architecture parameters (``alpha``, tagged ``is_arch``) do not. A
    parameter container that is never called itself (a
    :class:`~nnabla_nas.module.ParameterList`) counts when its owner is on the
    path. A :class:`~nnabla_nas.module.SharedKernel` counts the
    weights it reads (its kernel's size), which the network found holds as its
    own.

    Args:
        weight: Exponent of the reward factor (see :meth:`Estimator.factor`).
        bound: Memory budget, in ``unit``.
        unit: ``B``, ``KB`` (1e3 bytes) or ``MB`` (1e6 bytes).

    Raises:
        ValueError: On an unknown unit.
    """

    #: Bytes per parameter element (float32).
    bytes_per_value = 4

    def __init__(self, weight: float = 0.0, bound: float = 1.0, unit: str = "MB"):
        super().__init__(weight, bound)
        if unit not in MEMORY_UNITS:
            raise ValueError(f"unknown memory unit {unit!r}; valid units: "
                             f"{', '.join(MEMORY_UNITS)}")
        self.unit = unit

    def count(self, model: Network) -> int:
        """Number of parameter elements on the active path of ``model``."""
        seen, total = set(), 0
        for _, module in active_modules(model):
            for p in _parameters(module):
                if id(p) not in seen and not p.is_arch:
                    seen.add(id(p))
                    total += p.size
            # A module on another's weights (SharedKernel) says how many it reads.
            total += getattr(module, "weight_size", 0)
        return total

    def predict(self, model: Network) -> float:
        """Parameter memory of the active path of ``model``'s last build, in :attr:`unit`."""
        return self.count(model) * self.bytes_per_value / MEMORY_UNITS[self.unit]


def _parameters(module: Network) -> Iterator:
    """The parameters an active ``module`` uses itself."""
    yield from module.parameters.values()
    for child in module.modules.values():
        if child.is_container:  # a ParameterList: its owner uses its items
            yield from child.parameters.values()
