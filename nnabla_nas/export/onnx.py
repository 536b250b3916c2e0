"""ONNX files, converted from an NNP file by nnabla-converter, run in ONNX Runtime.

Never written by hand: :class:`nnabla.utils.converter.onnx.OnnxExporter`
converts the NNP graph, function by function.
"""

import contextlib
import io
import logging
from typing import Iterator, Optional

import numpy as np

from ..utils.io import atomic_path
from .errors import ExportError, require

#: The exporter's op table. Its numbered opsets export an average pooling
#: that excludes padding (``including_pad=False``, DARTS' ``avg_pool_3x3``)
#: as an edge pad and an AveragePool (off by up to 0.5 per element); the
#: ``tensorrt`` table (opset 11 and ``count_include_pad``) is exact.
OPSET = "tensorrt"


def _exporter_class(module):
    """nnabla-converter's ``OnnxExporter`` with one function mapped differently.

    The converter maps ``ReLU6`` to a ``Relu`` and a ``Min`` against a constant
    tensor the size of the activation (MobileNetV2's ONNX file 2.5 times its
    parameters); this subclass maps it to ONNX's ``Clip`` between two scalar
    constants (the same numbers, and ONNX Runtime fuses it into the preceding
    convolution). Every other function is converted by the converter itself.
    """
    onnx = require("onnx")

    class Exporter(module.OnnxExporter):
        def ReLU6(self, opset, func):  # noqa: N802 (the converter's naming)
            bounds = []
            for value in (0.0, 6.0):
                name = f"{func.output[0]}_clip_{value:g}"
                tensor = onnx.helper.make_tensor(name, onnx.TensorProto.FLOAT, [], [value])
                bounds.append(onnx.helper.make_node("Constant", [], [name], value=tensor))
            clip = onnx.helper.make_node("Clip", [func.input[0]] + [b.output[0] for b in bounds],
                                         list(func.output))
            return bounds + [clip]

    return Exporter


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silences the converter's prints and nnabla's INFO lines inside the block."""
    logger = logging.getLogger("nnabla")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def nnp_to_onnx(nnp_path: str, path: str, batch_size: int, doc: str = "") -> None:
    """Converts the NNP file ``nnp_path`` to the ONNX file ``path``, atomically.

    Args:
        nnp_path: An NNP file with one executor (as :func:`.nnp.save_nnp` writes).
        path: Output path, ending in ``.onnx``.
        batch_size: The batch axis of the ONNX graph.
        doc: The model's doc string (what the input expects).

    Raises:
        MissingDependency: If onnx or nnabla-converter is not installed.
        ExportError: If the converter fails on the graph.
        OSError: If ``path`` cannot be written.
    """
    onnx = require("onnx")
    exporter = require("nnabla.utils.converter.onnx")
    from nnabla.utils.converter.nnabla import NnpImporter
    if not path.endswith(".onnx"):
        raise ExportError(f"an ONNX file name must end in .onnx, got '{path}'")
    with quiet():
        nnp = NnpImporter(nnp_path, expand_network=True, executor_index=0).execute()
        with atomic_path(path) as tmp:
            try:
                _exporter_class(exporter)(nnp, batch_size, -1, opset=OPSET).execute(tmp)
            except (ValueError, KeyError, NotImplementedError) as err:
                raise ExportError(f"nnabla-converter cannot export the network to ONNX: "
                                  f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                                  ) from None
            if doc:
                model = onnx.load(tmp)
                model.doc_string = doc
                onnx.save(model, tmp)


def session(path: str, threads: int = 0, profile_prefix: Optional[str] = None):
    """An ONNX Runtime CPU session of ``path`` (``threads=0``: its default);
    with ``profile_prefix``, ONNX Runtime's profiler records every run into a
    JSON file of that prefix (``end_profiling()`` returns its path)."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run_onnx(sess, x: np.ndarray) -> np.ndarray:
    """The first output of ``sess`` (a path or a session) for the input ``x``."""
    if isinstance(sess, str):
        sess = session(sess)
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: np.ascontiguousarray(x, np.float32)})[0]
