"""Export of found networks: NNP files (nnabla) and ONNX files (ONNX Runtime,
TensorRT...), checked against the Module graph.

* :func:`export`: a network built in user code.
* :func:`nnabla_nas.export.run_folder.export_run_folder`: the network of a
  finished training run folder, or the argmax network of a search run folder.
* ``nnabla-nas export RUN_DIR --format onnx`` (:mod:`nnabla_nas.cli.export`):
  the same on the command line.

ONNX export needs the optional packages in :data:`.errors.INSTALL_LINE`.
"""

from . import latency  # noqa: F401  (registers LatencyEstimator's onnxruntime runtime)
from .api import FORMATS, ExportResult, export, run_file
from .errors import ExportError, MissingDependency

__all__ = ["FORMATS", "ExportError", "ExportResult", "MissingDependency", "export",
           "run_file"]
