"""Errors of the export package, and the check for its optional dependencies."""

import importlib
from types import ModuleType

#: The line that installs the export dependencies (nnabla-converter declares
#: TensorFlow as a dependency, a 2 GB install that ONNX export does not use).
INSTALL_LINE = ("pip install 'nnabla-nas[export]' && "
                "pip install --no-deps nnabla-converter==1.39.0")


class ExportError(ValueError):
    """A network, run folder or output path that cannot be exported (one line)."""


class MissingDependency(ExportError):
    """An optional package the export needs is not installed."""


def require(module: str) -> ModuleType:
    """Imports ``module`` or raises :class:`MissingDependency` naming the install line.

    Args:
        module: ``onnx``, ``onnxruntime`` or ``nnabla.utils.converter.onnx``.

    Raises:
        MissingDependency: If the import fails.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        missing = getattr(err, "name", None) or module
        raise MissingDependency(f"the export needs the package '{missing}', which is not "
                                f"installed; install it with: {INSTALL_LINE}") from None
