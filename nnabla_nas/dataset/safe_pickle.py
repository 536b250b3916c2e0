"""A restricted unpickler for dataset files: plain data and numpy arrays only.

Unpickling runs whatever callables the pickle names, so a doctored dataset
file could execute code. :class:`RestrictedUnpickler` resolves only the few
globals numpy arrays need; anything else raises :class:`UnsafePickleError`
before it can run.
"""

import io
import pickle
from typing import Any, BinaryIO, FrozenSet, Tuple

#: ``(module, name)`` globals a pickle may reference: what ``ndarray.__reduce__``
#: emits (``numpy._core`` is numpy 2's name for ``numpy.core``), and
#: ``_codecs.encode``, a pure str -> bytes conversion with which Python 3 writes
#: ``bytes`` at protocol 2 (a re-pickled batch; the official archive needs none).
ALLOWED_GLOBALS: FrozenSet[Tuple[str, str]] = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
})


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referenced a global outside :data:`ALLOWED_GLOBALS`."""


class RestrictedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` whose ``find_class`` refuses all but :data:`ALLOWED_GLOBALS`.

    Args:
        file: Binary file to read.
        source: Where the pickle comes from (file or archive member), for messages.
        encoding: How to decode Python 2 ``str`` objects; ``"bytes"`` keeps them
            as bytes, as the CIFAR batches need.
    """

    def __init__(self, file: BinaryIO, source: str = "<pickle>", encoding: str = "bytes"):
        super().__init__(file, encoding=encoding)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(f"{self.source}: refused to load global '{module}.{name}'; "
                                "only plain data and numpy arrays are allowed")


def restricted_loads(data: bytes, source: str = "<pickle>", encoding: str = "bytes") -> Any:
    """Unpickles ``data`` with :class:`RestrictedUnpickler`.

    Raises:
        UnsafePickleError: If the pickle references a refused global.
    """
    return RestrictedUnpickler(io.BytesIO(data), source, encoding).load()
