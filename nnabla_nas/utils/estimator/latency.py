"""`LatencyEstimator`: latency of the active path, from per-layer measurements.

References:
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019 (latency lookup tables, Section 3.3).
"""

from typing import Dict, Optional

from . import table as T
from .active import Network, active_leaves
from .estimator import Estimator
from .profile import profile_layer
from .registry import ESTIMATORS


@ESTIMATORS.register()
class LatencyEstimator(Estimator):
    """Sum of the latencies of the layers on the active path.

    Each distinct layer (class, ``extra_repr()``, input shapes and context,
    see :func:`~nnabla_nas.utils.estimator.table.layer_key`) is profiled once
    with :func:`~nnabla_nas.utils.estimator.profile.profile_layer` and
    cached; layers that return their input (``Identity``) cost 0. The cache
    is a lookup table that :meth:`save_table` writes and :meth:`load_table`
    (or ``table=``) reads back, so a table measured on a target device can
    drive a search that runs elsewhere.

    The *target context* whose latencies are summed is ``context`` when
    given; otherwise, when the loaded tables hold one context only, that
    one; otherwise nnabla's current default context. Layers missing from
    the cache are measured only when the target is the current context;
    for another target they raise instead of mixing devices.

    Args:
        weight: Exponent of the reward factor (see :meth:`Estimator.factor`).
        bound: Latency budget, in ``unit``.
        n_run: Timed forward runs per layer (the median is kept).
        warmup: Untimed forward runs before them.
        table: Path of a JSON table to load (see
            :mod:`nnabla_nas.utils.estimator.table`).
        unit: ``s``, ``ms`` or ``us``.
        context: Target context string, such as ``"cpu:float"``.
        batch_size: Batch size the layers are priced at: 1 (default) gives the
            latency of one image, as a deployed network sees it, whatever the
            search's mini-batch; 0 prices them at the mini-batch they ran with.

    Attributes:
        latencies: Layer key -> latency in seconds (the cache).
        n_measurements: Number of layers timed so far.

    Raises:
        ValueError: On an unknown unit, ``n_run < 1``, ``warmup < 0`` or a
            malformed table.
        FileNotFoundError: If ``table`` does not exist.
    """

    def __init__(self, weight: float = 0.0, bound: float = 5.0, n_run: int = 10,
                 warmup: int = 2, table: Optional[str] = None, unit: str = "ms",
                 context: Optional[str] = None, batch_size: int = 1):
        super().__init__(weight, bound)
        if unit not in T.TIME_UNITS:
            raise ValueError(f"unknown latency unit {unit!r}; valid units: "
                             f"{', '.join(T.TIME_UNITS)}")
        if int(n_run) < 1 or int(warmup) < 0:
            raise ValueError(f"need n_run >= 1 and warmup >= 0, got n_run={n_run}, "
                             f"warmup={warmup}")
        if int(batch_size) < 0:
            raise ValueError(f"batch_size must be 0 (the run's own) or positive, got {batch_size}")
        self.unit, self.n_run, self.warmup = unit, int(n_run), int(warmup)
        self.batch_size = int(batch_size)
        self.context = context
        self.latencies: Dict[T.LayerKey, float] = {}
        self.n_measurements = 0
        self._table_contexts = set()
        if table is not None:
            self.load_table(table)

    def target_context(self) -> str:
        """The context string whose latencies :meth:`predict` sums."""
        if self.context is not None:
            return self.context
        if len(self._table_contexts) == 1:
            return next(iter(self._table_contexts))
        return T.context_string()

    def predict(self, model: Network) -> float:
        """Latency of the active path of ``model``'s last graph build, in :attr:`unit`.

        Raises:
            RuntimeError: If a layer cannot be measured (the message names it
                and its input shapes).
        """
        context = self.target_context()
        total = sum(self.layer_latency(layer, context, name)
                    for name, layer in active_leaves(model))
        return total / T.TIME_UNITS[self.unit]

    def layer_latency(self, layer: Network, context: Optional[str] = None,
                      name: str = "") -> float:
        """Latency of one layer as last called, in seconds (measured on a cache miss).

        Args:
            layer: A leaf module, called at least once.
            context: Target context string (default :meth:`target_context`).
            name: Name of the layer in its network, for error messages.
        """
        context = self.target_context() if context is None else context
        key = T.layer_key(layer, context, self.batch_size)
        if key not in self.latencies:
            self.latencies[key] = self._measure(layer, key, name)
        return self.latencies[key]

    def _measure(self, layer: Network, key: T.LayerKey, name: str) -> float:
        current = T.context_string()
        if key[0] != current:
            raise RuntimeError(
                f"layer '{name}' {key[1]}({key[2]}) on input shapes {list(key[3])} is not "
                f"in the latency table for context '{key[0]}' and cannot be measured on "
                f"the current context '{current}'")
        seconds = profile_layer(layer, self.n_run, self.warmup, name, self.batch_size)
        if seconds is None:  # returns its input: nothing runs
            return 0.0
        self.n_measurements += 1
        return seconds

    def save_table(self, path: str) -> None:
        """Writes every cached latency to a JSON table at ``path``, in
        :attr:`unit`, atomically."""
        T.save_table(path, self.latencies, self.unit)

    def load_table(self, path: str) -> None:
        """Adds the entries of a JSON table to the cache (they replace cached ones).

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            ValueError: If the file is not a valid table.
        """
        loaded = T.load_table(path)
        self.latencies.update(loaded)
        self._table_contexts.update(key[0] for key in loaded)

    def extra_repr(self) -> str:
        return (f"unit={self.unit!r}, n_run={self.n_run}, warmup={self.warmup}, "
                f"context={self.target_context()!r}, cached={len(self.latencies)}")
