"""Latency in ONNX Runtime: a module (or a whole network) exported alone and timed.

The ``onnxruntime`` runtime of
:class:`~nnabla_nas.utils.estimator.LatencyEstimator` prices the candidate
operators of a search network with :func:`profile_module`; the whole-network
check (``bench/latency_onnx.py``) uses :func:`measure_network`.
"""

import contextlib
import json
import os
import platform
import sys
import statistics
import tempfile
import time
from typing import Iterator, Optional, Sequence

import numpy as np

from ..module import Module
from ..utils.estimator.latency import BACKENDS
from .graph import build_inference_graph
from .nnp import save_nnp
from .onnx import nnp_to_onnx, session


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``'s, else what :mod:`platform` says)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def device_name() -> str:
    """The CPU model and its logical core count, e.g. ``"Intel(R) Xeon(R) ... (2 cores)"``."""
    return f"{cpu_model()} ({os.cpu_count()} cores)"


def runtime_name() -> str:
    """``onnxruntime <version>``."""
    import onnxruntime
    return f"onnxruntime {onnxruntime.__version__}"


#: Clocks a run can be timed with: ``wall`` (elapsed time, what a deployed
#: network's caller waits) or ``cpu`` (the process's CPU time: on a machine
#: shared with other jobs, the time the run would take alone; with one
#: thread the same as ``wall`` on an idle machine).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def time_session(sess, x: np.ndarray, n_run: int, warmup: int, clock: str = "wall") -> float:
    """Median time in seconds of ``n_run`` runs of ``sess`` on ``x``, after
    ``warmup`` untimed runs, on the clock ``clock`` (see :data:`CLOCKS`).

    Input and outputs are bound to buffers allocated once (ONNX Runtime's
    I/O binding): a run copies nothing in or out, so a single operator is
    not charged for copying its activations, which inside a network it is not.
    """
    import onnxruntime as ort
    now = CLOCKS[clock]
    binding = sess.io_binding()
    value = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(x, np.float32))
    binding.bind_ortvalue_input(sess.get_inputs()[0].name, value)
    outputs = []
    for out in sess.get_outputs():
        if all(isinstance(d, int) for d in out.shape):
            buffer = ort.OrtValue.ortvalue_from_shape_and_type(out.shape, np.float32)
            outputs.append(buffer)
            binding.bind_ortvalue_output(out.name, buffer)
        else:
            binding.bind_output(out.name)
    times = []
    for _ in range(warmup + n_run):
        start = now()
        sess.run_with_iobinding(binding)
        times.append(now() - start)
    return statistics.median(times[warmup:])


#: ONNX Runtime's conversions into and out of its blocked channel layout
#: (NCHWc), which it puts at the edges of a chain of convolutions it runs in
#: that layout: a whole MobileNetV2 pays them once, a block or layer timed
#: alone pays them at its own input and output.
LAYOUT_OPS = ("ReorderInput", "ReorderOutput")


@contextlib.contextmanager
def exported(model: Module, input_shape: Sequence[int], batch_size: int = 1) -> Iterator[str]:
    """The path of ``model``'s inference graph as a temporary ONNX file (exported
    through NNP), removed after the block."""
    graph = build_inference_graph(model, input_shape, batch_size)
    with tempfile.TemporaryDirectory(prefix="nnabla_nas_latency_") as tmp:
        nnp_path, onnx_path = os.path.join(tmp, "m.nnp"), os.path.join(tmp, "m.onnx")
        save_nnp(graph, nnp_path, variable_batch_size=False)
        nnp_to_onnx(nnp_path, onnx_path, batch_size)
        yield onnx_path


def export_session(model: Module, input_shape: Sequence[int], batch_size: int = 1,
                   threads: int = 1):
    """An ONNX Runtime session of ``model``'s inference graph (exported through
    NNP to a temporary ONNX file, removed after loading)."""
    with exported(model, input_shape, batch_size) as path:
        return session(path, threads=threads)


def layout_seconds(path: str, x: np.ndarray, n_run: int, warmup: int, threads: int = 1) -> float:
    """Median time in seconds per run that ONNX Runtime spends in layout
    conversions (:data:`LAYOUT_OPS`) running the ONNX file ``path`` on ``x``,
    read from its profiler: the sum over conversion nodes of each node's
    median duration over ``n_run`` runs after ``warmup``. 0 when it inserts none."""
    with tempfile.TemporaryDirectory(prefix="nnabla_nas_profile_") as tmp:
        sess = session(path, threads=threads, profile_prefix=os.path.join(tmp, "p"))
        feed = {sess.get_inputs()[0].name: np.ascontiguousarray(x, np.float32)}
        for _ in range(warmup + n_run):
            sess.run(None, feed)
        with open(sess.end_profiling()) as f:
            events = json.load(f)
    durations = {}  # conversion node -> its durations in microseconds, run by run
    for event in events:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time") \
                and event.get("args", {}).get("op_name") in LAYOUT_OPS:
            durations.setdefault(event["name"], []).append(event["dur"])
    return 1e-6 * sum(statistics.median(d[warmup:] or d) for d in durations.values())


def measure_network(model: Module, input_shape: Sequence[int], batch_size: int = 1,
                    n_run: int = 30, warmup: int = 5, threads: int = 1,
                    clock: str = "wall") -> float:
    """Median latency in seconds of ``model`` in ONNX Runtime (CPU)."""
    sess = export_session(model, input_shape, batch_size, threads)
    x = np.random.RandomState(0).randn(batch_size, *input_shape)
    return time_session(sess, x, n_run, warmup, clock)


def profile_module(module: Module, n_run: int = 10, warmup: int = 2,
                   batch_size: Optional[int] = None, threads: int = 1,
                   clock: str = "wall") -> Optional[float]:
    """Median ONNX Runtime latency in seconds of ``module`` alone, on the shape
    of its last input (batch axis set to ``batch_size`` when given).

    The time includes the layout conversions ONNX Runtime adds at the module's
    own input and output (:data:`LAYOUT_OPS`), which inside a network run once
    per chain rather than per module. Taking them off (:func:`layout_seconds`)
    was measured and made the table's sum worse against whole networks
    (``bench/latency_layout.py``, ``bench/latency_onnx.py``): modules also run
    slower inside a network than alone, and the two biases mostly cancel.

    Returns:
        The latency, or None when the module returns its input (it costs nothing).

    Raises:
        RuntimeError: A module with several inputs, or one the export fails on.
    """
    shapes = list(module.input_shapes)
    if len(shapes) != 1 or shapes[0] is None:
        raise RuntimeError(f"the onnxruntime runtime times modules of one Variable input; "
                           f"{type(module).__name__} was called on input shapes {shapes}")
    batch = batch_size or shapes[0][0]
    input_shape = tuple(shapes[0][1:])
    recorded = list(module.input_shapes)
    x = np.random.RandomState(0).randn(batch, *input_shape)
    try:
        graph = build_inference_graph(module, input_shape, batch)
        if graph.y is graph.x or not graph.y.parent:
            return None
        with exported(module, input_shape, batch) as path:
            sess = session(path, threads=threads)
    except Exception as err:  # the export names what failed
        raise RuntimeError(f"cannot time {type(module).__name__}({module.extra_repr()}) in "
                           f"ONNX Runtime: {type(err).__name__}: {err}") from err
    finally:
        module.input_shapes = recorded
    return time_session(sess, x, n_run, warmup, clock)


def run_overhead(n_run: int = 50, warmup: int = 5, threads: int = 1,
                 clock: str = "wall") -> float:
    """Median time in seconds of one ONNX Runtime run of a trivial graph (one
    ReLU on one number): the cost every timed module pays once, and a whole
    network pays once too."""
    from ..module import ReLU
    relu = ReLU()
    sess = export_session(relu, (1,), 1, threads)
    return time_session(sess, np.ones((1, 1)), n_run, warmup, clock)


# This module times layers for LatencyEstimator(runtime="onnxruntime").
BACKENDS["onnxruntime"] = sys.modules[__name__]
