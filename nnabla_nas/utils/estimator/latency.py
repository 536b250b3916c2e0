"""`LatencyEstimator`: latency of the active path, from per-layer measurements.

References:
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019 (latency lookup tables, Section 3.3).
"""

from typing import Dict, Optional

import nnabla as nn

from . import table as T
from .active import Network, active_leaves, active_operators
from .estimator import Estimator
from .profile import profile_layer
from .registry import ESTIMATORS


#: Runtimes the layers can be timed in.
RUNTIMES = ("nnabla", "onnxruntime")
#: Runtime name -> the module that times layers in it (``profile_module``,
#: ``run_overhead``, ``device_name``, ``runtime_name``). A package above this one
#: fills it when imported: :mod:`nnabla_nas.export.latency` adds ``onnxruntime``
#: (the estimators import nothing above ``utils``).
BACKENDS: Dict[str, object] = {}
#: Layer name of the table entry holding ONNX Runtime's cost of one run.
OVERHEAD = "RunOverhead"


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

    Runtimes: ``nnabla`` times each leaf layer in nnabla's own kernels on the
    current context. ``onnxruntime`` times, in ONNX Runtime on the CPU, each
    operator a ``MixedOp`` chose, and outside the MixedOps each sequence of
    layers (such as convolution, batch normalization, ReLU6) and each other
    layer, whole (ONNX Runtime fuses a convolution with its batch
    normalization and activation; see
    :func:`~nnabla_nas.utils.estimator.active.active_operators`), each
    exported alone (:mod:`nnabla_nas.export.latency`); the time of one run
    of an empty graph is measured once, taken off every entry and counted
    once per network. It needs the ``export`` extra.

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
        runtime: ``nnabla`` (default) or ``onnxruntime``.
        threads: ONNX Runtime threads per run (``onnxruntime`` only).
        clock: ``wall`` (default) or ``cpu``, the process's CPU time: on a
            machine shared with other jobs, what a run would take alone
            (``onnxruntime`` only; see :data:`nnabla_nas.export.latency.CLOCKS`).

    Attributes:
        latencies: Layer key -> latency in seconds (the cache).
        n_measurements: Number of layers timed so far.

    Raises:
        ValueError: On an unknown unit or runtime, ``n_run < 1``, ``warmup < 0``,
            a malformed table or one measured with another runtime.
        FileNotFoundError: If ``table`` does not exist.
    """

    def __init__(self, weight: float = 0.0, bound: float = 5.0, n_run: int = 10,
                 warmup: int = 2, table: Optional[str] = None, unit: str = "ms",
                 context: Optional[str] = None, batch_size: int = 1,
                 runtime: str = "nnabla", threads: int = 1, clock: str = "wall"):
        super().__init__(weight, bound)
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown latency runtime {runtime!r}; valid runtimes: "
                             f"{', '.join(RUNTIMES)}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        if clock not in ("wall", "cpu"):
            raise ValueError(f"unknown clock {clock!r}; valid clocks: wall, cpu")
        self.runtime, self.threads, self.clock = runtime, threads, clock
        self.input_shape: Optional[list] = None
        self._table_shape = False  # whether input_shape came from a loaded table
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
        return self.local_context()

    def local_context(self) -> str:
        """The context string of this machine's runtime: where missing layers
        can be measured (``cpu:float``..., ``onnxruntime:cpu:threads=1``)."""
        if self.runtime == "onnxruntime":
            clock = ":cpu-time" if self.clock == "cpu" else ""
            return f"onnxruntime:cpu:threads={self.threads}{clock}"
        return T.context_string()

    def predict(self, model: Network) -> float:
        """Latency of the active path of ``model``'s last graph build, in :attr:`unit`.

        Raises:
            RuntimeError: If a layer cannot be measured (the message names it
                and its input shapes).
        """
        self._check_input_shape(model)
        context = self.target_context()
        if self.runtime == "nnabla":
            total = sum(self.layer_latency(layer, context, name)
                        for name, layer in active_leaves(model))
            return total / T.TIME_UNITS[self.unit]
        overhead = self._overhead(context)
        total = overhead + sum(max(0.0, self.layer_latency(op, context, name) - overhead)
                               for name, op in active_operators(model))
        return total / T.TIME_UNITS[self.unit]

    def _check_input_shape(self, model: Network) -> None:
        """The network input must be the one the loaded table was measured for."""
        shapes = model.input_shapes
        if not shapes or shapes[0] is None:
            return
        shape = [int(n) for n in shapes[0][1:]]
        if self.input_shape is None:
            self.input_shape = shape  # written with the table
        elif self._table_shape and shape != list(self.input_shape):
            raise ValueError(f"the latency table was measured for network input "
                             f"{list(self.input_shape)}, this network takes {shape}; measure "
                             f"a table for this input shape")

    def _backend(self):
        """The timing module of :attr:`runtime` (see :data:`BACKENDS`)."""
        if self.runtime not in BACKENDS:
            raise RuntimeError(f"latency runtime '{self.runtime}' is provided by "
                               f"nnabla_nas.export: import it first (main.py does)")
        return BACKENDS[self.runtime]

    def _overhead(self, context: str) -> float:
        key = (context, OVERHEAD, "", ())
        if key not in self.latencies:
            if context != self.local_context():
                raise RuntimeError(f"the latency table for '{context}' has no {OVERHEAD} entry")
            self.latencies[key] = self._backend().run_overhead(threads=self.threads, clock=self.clock)
        return self.latencies[key]

    def layer_latency(self, layer: Network, context: Optional[str] = None,
                      name: str = "") -> float:
        """Latency of one layer as last called, in seconds (measured on a cache miss).

        Args:
            layer: A leaf module, called at least once.
            context: Target context string (default :meth:`target_context`).
            name: Name of the layer in its network, for error messages.
        """
        context = self.target_context() if context is None else context
        if hasattr(layer, "standalone"):  # a SharedKernel: the convolution it stands for
            layer = layer.standalone(weights=False)  # (its weights do not change the time)
        key = T.layer_key(layer, context, self.batch_size)
        if key not in self.latencies:
            self.latencies[key] = self._measure(layer, key, name)
        return self.latencies[key]

    def _measure(self, layer: Network, key: T.LayerKey, name: str) -> float:
        current = self.local_context()
        if key[0] != current:
            raise RuntimeError(
                f"layer '{name}' {key[1]}({key[2]}) on input shapes {list(key[3])} is not "
                f"in the latency table for context '{key[0]}' and cannot be measured on "
                f"the current context '{current}'")
        if self.runtime == "onnxruntime":
            try:
                seconds = self._backend().profile_module(layer, self.n_run, self.warmup,
                                                         self.batch_size, self.threads, self.clock)
            except RuntimeError as err:
                raise RuntimeError(f"layer '{name}': {err}") from None
        else:
            seconds = profile_layer(layer, self.n_run, self.warmup, name, self.batch_size)
        if seconds is None:  # returns its input: nothing runs
            return 0.0
        self.n_measurements += 1
        return seconds

    def save_table(self, path: str) -> None:
        """Writes every cached latency to a JSON table at ``path``, in
        :attr:`unit`, atomically."""
        meta = {"runtime": self.runtime, "input_shape": self.input_shape,
                "device": self._device()}
        T.save_table(path, self.latencies, self.unit, meta)

    def _device(self) -> str:
        if self.runtime == "onnxruntime":
            backend = self._backend()
            return f"{backend.device_name()}, {backend.runtime_name()}"
        import platform
        return f"{platform.processor() or platform.machine()}, nnabla {nn.__version__}"

    def load_table(self, path: str) -> None:
        """Adds the entries of a JSON table to the cache (they replace cached ones).

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            ValueError: If the file is not a valid table, or was measured with
                another runtime or for another network input shape.
        """
        loaded, meta = T.read_table(path)
        if meta["runtime"] != self.runtime:
            raise ValueError(f"latency table '{path}' was measured with runtime "
                             f"'{meta['runtime']}', this estimator uses '{self.runtime}'; "
                             f"set runtime: {meta['runtime']} or measure a table with "
                             f"{self.runtime}")
        shape = meta.get("input_shape")
        if shape is not None:
            if self.input_shape is not None and list(shape) != list(self.input_shape):
                raise ValueError(f"latency table '{path}' was measured for network input "
                                 f"{shape}, not {list(self.input_shape)}")
            self.input_shape, self._table_shape = list(shape), True
        self.latencies.update(loaded)
        self._table_contexts.update(key[0] for key in loaded)

    def extra_repr(self) -> str:
        return (f"runtime={self.runtime!r}, unit={self.unit!r}, n_run={self.n_run}, "
                f"warmup={self.warmup}, "
                f"context={self.target_context()!r}, cached={len(self.latencies)}")
