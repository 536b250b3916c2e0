""":func:`export`: a network built in user code to an NNP or ONNX file, checked."""

import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional, Sequence

import nnabla as nn
import numpy as np

from ..module import Module
from ..utils.io import atomic_path
from .errors import ExportError
from .graph import Normalization, build_inference_graph, describe_input
from .nnp import load_nnp, save_nnp
from .onnx import nnp_to_onnx, run_onnx, session

FORMATS = ("onnx", "nnp")
#: Largest difference allowed between the file's outputs and the Module
#: graph's, relative to the largest output (float32 round-off, different
#: summation orders).
TOLERANCE = 1e-5


@dataclass
class ExportResult:
    """What :func:`export` wrote.

    Attributes:
        path: The file.
        format: ``onnx`` or ``nnp``.
        batch_size: Its batch axis.
        bytes: Its size.
        max_abs_diff: Largest difference between the file's outputs (ONNX
            Runtime, or NnpLoader) and the Module graph's on a random input;
            None when not checked.
        input: What the input expects (:func:`.graph.describe_input`).
    """

    path: str
    format: str
    batch_size: int
    bytes: int
    max_abs_diff: Optional[float]
    input: str


def check_output_path(path: str, format: Optional[str] = None) -> str:
    """The format of ``path`` (from ``format`` or the extension), after checking
    that its folder exists and is writable.

    Raises:
        ExportError: An unknown format, an extension that does not match it,
            or a folder that is missing or not writable.
    """
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    fmt = format if format is not None else ext
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}'; valid formats: "
                          f"{', '.join(FORMATS)}")
    if ext != fmt:
        raise ExportError(f"the {fmt.upper()} file name must end in .{fmt}, got '{path}'")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ExportError(f"cannot write '{path}': the folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or os.path.isdir(path):
        raise ExportError(f"cannot write '{path}': "
                          f"{'it is a folder' if os.path.isdir(path) else 'permission denied'}")
    return fmt


def export(model: Module, path: str, input_shape: Sequence[int], batch_size: int = 1,
           format: Optional[str] = None, normalization: Optional[Normalization] = None,
           verify: bool = True) -> ExportResult:
    """Writes ``model``'s inference network with its parameters to ``path``.

    The graph is built with every module in inference mode (batch
    normalization with its running statistics, no drop-path or dropout, no
    auxiliary head) and every ``MixedOp`` on its argmax; the model's modes
    are restored after. The file is written atomically: on any error
    ``path`` is untouched.

    Example::

        from nnabla_nas.export import export
        export(net, "net.onnx", input_shape=(3, 32, 32), batch_size=8)

    Args:
        model: The network.
        path: Output file, ``.onnx`` or ``.nnp``.
        input_shape: One input without the batch axis, e.g. ``(3, 32, 32)``.
        batch_size: The batch axis of the file (an NNP file leaves it open:
            NnpLoader builds any batch size).
        format: ``onnx`` or ``nnp``; default: from the extension of ``path``.
        normalization: ``(mean, std)`` per channel on the 0..1 scale to
            include in the graph (it then takes 0..255 pixels); None: the
            file takes the network's input as it is.
        verify: Run the file (ONNX Runtime for ONNX, NnpLoader for NNP) on a
            random batch and compare with the Module graph.

    Returns:
        The :class:`ExportResult`.

    Raises:
        ExportError: A bad argument or path, a file whose outputs differ from
            the Module graph's by more than :data:`TOLERANCE` (relative), or
            (its subclass ``MissingDependency``) onnx, onnxruntime or
            nnabla-converter not installed, with the install line.
    """
    fmt = check_output_path(path, format)
    if fmt == "onnx":
        from .errors import require
        require("onnx"), require("onnxruntime"), require("nnabla.utils.converter.onnx")
    graph = build_inference_graph(model, input_shape, batch_size, normalization)
    diff = None
    try:
        # Written and checked under a temporary name, renamed at the end.
        with atomic_path(path) as out:
            if fmt == "nnp":
                save_nnp(graph, out)
            else:
                with tempfile.TemporaryDirectory(prefix="nnabla_nas_export_") as tmp:
                    nnp_path = os.path.join(tmp, "model.nnp")
                    save_nnp(graph, nnp_path, variable_batch_size=False)
                    nnp_to_onnx(nnp_path, out, batch_size, describe_input(graph))
            if verify:
                diff = _verify(graph, out, fmt)
    except OSError as err:
        raise ExportError(f"cannot write '{path}': {err.strerror or err}") from None
    return ExportResult(path, fmt, int(batch_size), os.path.getsize(path), diff,
                        describe_input(graph))


def _verify(graph, path: str, fmt: str) -> float:
    """Max abs difference between the file and the Module graph on a random batch;
    raises :class:`ExportError` above the tolerance."""
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 255, graph.x.shape) if graph.normalization else \
        rng.randn(*graph.x.shape)
    graph.x.d = x
    graph.y.forward(clear_buffer=True)
    ref = graph.y.d.copy()
    got = run_file(path, x)
    diff = float(np.abs(got - ref).max())
    if not diff <= TOLERANCE * max(1.0, float(np.abs(ref).max())):
        raise ExportError(f"the exported {fmt.upper()} file's outputs differ from the "
                          f"network's by {diff:.3g} (more than {TOLERANCE:g}); "
                          f"nothing was written")
    return diff


def run_file(path: str, x: np.ndarray, batch_size: Optional[int] = None) -> np.ndarray:
    """The outputs of the exported file ``path`` for the inputs ``x``, run
    ``batch_size`` at a time (default: all at once; ``len(x)`` must be a
    multiple of it), in ONNX Runtime (``.onnx``) or nnabla's NnpLoader
    (``.nnp``, in a parameter scope of its own)."""
    batch = batch_size or len(x)
    if len(x) % batch:
        raise ExportError(f"{len(x)} inputs are not whole batches of {batch}")
    chunks = [x[start:start + batch] for start in range(0, len(x), batch)]
    if path.endswith(".onnx"):
        sess = session(path)
        return np.concatenate([run_onnx(sess, chunk) for chunk in chunks])
    outputs = []
    with nn.parameter_scope("", OrderedDict()):
        nx, ny = load_nnp(path, batch_size=batch)
        for chunk in chunks:
            nx.d = chunk
            ny.forward(clear_buffer=True)
            outputs.append(ny.d.copy())
    return np.concatenate(outputs)
