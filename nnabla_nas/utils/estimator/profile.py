"""Timing one layer on the current nnabla context, without side effects."""

import contextlib
import statistics
import time
from typing import Callable, Iterator, Optional

import nnabla as nn
import nnabla.functions as F
import numpy as np
from nnabla.ext_utils import import_extension_module

from .active import Network
from .table import with_batch


def device_synchronizer(ctx=None) -> Callable[[], None]:
    """A function waiting until the device of ``ctx`` has finished its queued work.

    On the CPU, where nnabla runs synchronously, it does nothing; on CUDA it
    calls the extension's ``synchronize(device_id=...)``.

    Args:
        ctx: An :class:`nnabla.Context` (default: the current default context).
    """
    ctx = nn.get_current_context() if ctx is None else ctx
    extension = ctx.backend[0].split(":")[0] if ctx.backend else "cpu"
    if extension == "cpu":
        return lambda: None
    module = import_extension_module(extension)
    device_id = ctx.device_id
    return lambda: module.synchronize(device_id=device_id)


@contextlib.contextmanager
def inference_call(layer: Network) -> Iterator[None]:
    """Puts ``layer`` in inference mode, restoring its mode and recorded
    :attr:`Module.input_shapes` on exit (batch-norm statistics stay untouched)."""
    training, shapes = layer.training, list(layer.input_shapes)
    layer.training = False
    try:
        yield
    finally:
        layer.training = training
        layer.input_shapes = shapes


def profile_layer(layer: Network, n_run: int = 10, warmup: int = 2,
                  name: str = "", batch_size: Optional[int] = None) -> Optional[float]:
    """Median forward time of ``layer`` on the shapes of its last inputs.

    Builds a fresh graph ``y = layer(*xs)`` on new Variables filled with
    random data (the caller's graph, its buffers and numpy's global random
    state are not touched), runs ``y.forward()`` ``warmup`` times, then times
    ``n_run`` runs with :func:`time.perf_counter`, synchronising the device
    around each run. The layer is called in inference mode
    (``training=False``), so batch normalization uses, and does not update,
    its running statistics.

    Args:
        layer: A leaf module, called at least once.
        n_run: Timed runs (the median is returned).
        warmup: Untimed runs first (memory allocation, kernel selection).
        name: Name of the layer in its network, for error messages.
        batch_size: Batch size to measure at (None or 0: the batch of the last call).

    Returns:
        The median time in seconds, or None when the layer returns one of its
        inputs unchanged (such as ``Identity``): it costs nothing.

    Raises:
        ValueError: If ``n_run < 1`` or ``warmup < 0``.
        RuntimeError: If building or running the layer fails, or an input
            was not a Variable; the message names the layer and its input
            shapes.
    """
    if n_run < 1 or warmup < 0:
        raise ValueError(f"need n_run >= 1 and warmup >= 0, got {n_run} and {warmup}")
    shapes = list(layer.input_shapes)
    where = f"'{name}' " if name else ""
    what = f"layer {where}{type(layer).__name__}({layer.extra_repr()}) on input shapes {shapes}"
    if not shapes or any(s is None for s in shapes):
        raise RuntimeError(f"cannot measure the latency of {what}: it needs Variable inputs")
    rng = np.random.RandomState(0)
    try:
        with inference_call(layer), nn.no_grad(), nn.auto_forward(False):
            inputs = [nn.Variable(with_batch(s, batch_size)) for s in shapes]
            for x in inputs:
                x.d = rng.randn(*x.shape)
            y = layer(*inputs)
            outputs = list(y) if isinstance(y, (tuple, list)) else [y]
            if any(out is x for out in outputs for x in inputs):
                return None
            y = outputs[0] if len(outputs) == 1 else F.sink(*outputs)
            sync = device_synchronizer()
            times = []
            for _ in range(warmup + n_run):
                sync()
                start = time.perf_counter()
                y.forward(clear_buffer=True)
                sync()
                times.append(time.perf_counter() - start)
    except Exception as err:
        raise RuntimeError(f"cannot measure the latency of {what}: "
                           f"{type(err).__name__}: {err}") from err
    return statistics.median(times[warmup:])
