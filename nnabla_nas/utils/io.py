"""Atomic file writes and nnabla-format ``.h5`` parameter files."""

import contextlib
import os
import tempfile
from collections import OrderedDict
from typing import Dict, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` on success.

    The temporary file keeps ``path``'s extension (nnabla picks formats by
    extension). On error the temporary file is removed and ``path`` is untouched.
    """
    folder = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{ext}", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def remove_stale_temporaries(folder: str) -> int:
    """Removes temporary files that a killed process left in ``folder`` (and its
    subfolders) mid-write; returns how many. The real files were never touched."""
    removed = 0
    for root, _, names in os.walk(folder):
        for name in names:
            if name.startswith(".") and ".tmp" in name:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(root, name))
                    removed += 1
    return removed


def write_text_atomic(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def save_h5_parameters(path: str, params: Dict[str, "object"]) -> None:
    """Saves name -> Variable in nnabla's ``.h5`` layout, atomically.

    Each dataset carries the attributes ``need_grad`` and ``index``, exactly
    as :func:`nnabla.save_parameters` writes them.
    """
    import h5py
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as hd:
            for i, (name, var) in enumerate(params.items()):
                hd[name] = var.d
                hd[name].attrs["need_grad"] = var.need_grad
                hd[name].attrs["index"] = i


def load_h5_parameters(path: str) -> "OrderedDict[str, np.ndarray]":
    """Reads an nnabla ``.h5`` parameter file into name -> array, in saved order.

    Unlike :func:`nnabla.load_parameters` it does not touch nnabla's global
    parameter scope.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a readable ``.h5`` parameter file.
    """
    import h5py
    if not os.path.isfile(path):
        raise FileNotFoundError(f"parameter file '{path}' does not exist")
    try:
        with h5py.File(path, "r") as hd:
            items = []

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    items.append((int(obj.attrs.get("index", len(items))), name, obj[...]))
            hd.visititems(visit)
    except OSError as err:
        raise ValueError(f"'{path}' is not a readable .h5 parameter file ({err})") from None
    return OrderedDict((name, value) for _, name, value in sorted(items, key=lambda t: t[0]))
