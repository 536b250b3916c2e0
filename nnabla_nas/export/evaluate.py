"""Test accuracy of an exported ONNX file in ONNX Runtime, next to nnabla's."""

from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import nnabla as nn
import numpy as np

from ..dataset.transforms import normalize
from .errors import ExportError
from .graph import Normalization, build_inference_graph
from .onnx import run_onnx, session


@dataclass
class Accuracy:
    """Top-1 accuracy on the test split of the Module graph (nnabla) and of the
    ONNX file (ONNX Runtime), and how many predictions differ."""

    nnabla: float
    onnxruntime: float
    images: int
    disagreements: int


def _batches(count: int, batch_size: int) -> Iterator[Tuple[int, int]]:
    for start in range(0, count, batch_size):
        yield start, min(start + batch_size, count)


def _padded(batch: np.ndarray, batch_size: int) -> np.ndarray:
    """``batch`` filled up to ``batch_size`` with copies of its last image."""
    if len(batch) == batch_size:
        return batch
    return np.concatenate([batch, np.repeat(batch[-1:], batch_size - len(batch), axis=0)])


def test_accuracy(model, onnx_path: str, data, batch_size: int,
                  normalization: Optional[Normalization]) -> Accuracy:
    """Runs the test split through ``model`` (nnabla, inference graph) and the
    ONNX file ``onnx_path`` (ONNX Runtime), ``batch_size`` images at a time.

    Args:
        model: The network the file was exported from.
        onnx_path: The exported file.
        data: An in-memory dataset (``test_x`` uint8 NHWC, ``test_y``).
        batch_size: The file's batch size (the last batch is padded).
        normalization: What the file includes (it then gets 0..255 pixels),
            or None (it gets normalized images, as the network).

    Raises:
        ExportError: A dataset without in-memory test images.
    """
    if not hasattr(data, "test_x"):
        raise ExportError(f"the test accuracy needs an in-memory dataset; "
                          f"{getattr(data, 'name', type(data).__name__)} streams from files")
    images, labels = data.test_x, np.asarray(data.test_y).reshape(-1)
    graph = build_inference_graph(model, images.shape[3:] + images.shape[1:3], batch_size)
    sess = session(onnx_path)
    hits = {"nnabla": 0, "onnxruntime": 0}
    differ = 0
    for start, stop in _batches(len(images), batch_size):
        raw = _padded(images[start:stop], batch_size)
        x = normalize(raw, data.mean, data.std)
        with nn.auto_forward(False):
            graph.x.d = x
            graph.y.forward(clear_buffer=True)
        ours = graph.y.d.argmax(axis=1)[:stop - start]
        fed = raw.transpose(0, 3, 1, 2).astype(np.float32) if normalization is not None else x
        theirs = run_onnx(sess, fed).reshape(batch_size, -1).argmax(axis=1)[:stop - start]
        truth = labels[start:stop]
        hits["nnabla"] += int((ours == truth).sum())
        hits["onnxruntime"] += int((theirs == truth).sum())
        differ += int((ours != theirs).sum())
    n = len(images)
    return Accuracy(hits["nnabla"] / n, hits["onnxruntime"] / n, n, differ)
