"""`Estimator`: the base of hardware-cost estimators used as search regularizers.

References:
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
    Tan, Chen, Pang, Vasudevan, Sandler, Howard, Le. MnasNet: Platform-Aware
    Neural Architecture Search for Mobile. CVPR 2019.
"""

from .active import Network


class Estimator:
    """Estimates a cost (latency, memory...) of the active path of a network.

    Subclasses implement :meth:`predict`. The searcher multiplies the reward
    of a sampled architecture by :meth:`factor`, so an estimator is also a
    regularizer.

    Args:
        weight: Exponent ``w >= 0`` of the reward factor; 0 disables the
            regularizer (the factor is always 1).
        bound: Cost budget ``T > 0``, in the estimator's unit.

    Raises:
        ValueError: If ``weight`` is negative or ``bound`` is not positive.
    """

    def __init__(self, weight: float = 0.0, bound: float = 1.0):
        if not weight >= 0:
            raise ValueError(f"weight must be >= 0, got {weight!r}")
        if not bound > 0:
            raise ValueError(f"bound must be > 0, got {bound!r}")
        self.weight = float(weight)
        self.bound = float(bound)

    #: Unit of :meth:`predict` and :attr:`bound`; set by subclasses.
    unit = ""

    def predict(self, model: Network) -> float:
        """The cost of the active path of ``model`` (after a graph build), in :attr:`unit`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement predict()")

    def factor(self, model: Network) -> float:
        """The ProxylessNAS / MnasNet reward factor ``min(1, T / c) ** w``.

        ``c`` is :meth:`predict`, ``T`` the :attr:`bound` and ``w`` the
        :attr:`weight`. An architecture within budget (``c <= T``) keeps its
        reward (factor 1); one over budget has it scaled by ``(T / c) ** w < 1``,
        the soft constraint ``ACC * (LAT / T) ** -w`` of MnasNet.

        Args:
            model: The network, after the graph of the architecture to score
                was built.

        Returns:
            A factor in ``(0, 1]``.
        """
        return self.factor_of(self.predict(model))

    def factor_of(self, cost: float) -> float:
        """:meth:`factor` for an architecture whose :meth:`predict` is ``cost``."""
        if cost <= self.bound:
            return 1.0
        return (self.bound / cost) ** self.weight

    def extra_repr(self) -> str:
        """Arguments shown in ``repr(estimator)``, after weight and bound."""
        return f"unit={self.unit!r}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(weight={self.weight}, bound={self.bound}, "
                f"{self.extra_repr()})")
