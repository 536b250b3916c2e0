"""Latency lookup tables: layer keys and their JSON file format.

A table maps a *layer key* to the measured latency of that layer. A table
measured on a target device (a phone, an embedded board) can drive a search
that runs elsewhere. The file is JSON::

    {
      "format": "nnabla_nas.latency_table",
      "version": 1,
      "unit": "ms",
      "entries": [
        {"context": "cpu:float",
         "layer": "Conv",
         "args": "in_channels=32, out_channels=32, kernel=(3, 3), ...",
         "input_shapes": [[1, 32, 32, 32]],
         "latency": 1.107}
      ]
    }

``unit`` (``s``, ``ms`` or ``us``) applies to every ``latency``. Optional
fields tell where the table was measured: ``runtime`` (``nnabla``, the
default for tables without it, or ``onnxruntime``), ``device`` (the CPU or
GPU) and ``input_shape`` (the network input, without the batch axis). Each entry's
key is its ``context`` (nnabla's default-context backend and type, such as
``cpu:float`` or ``cudnn:float|cuda:float|cpu:float``), ``layer`` (the
class name), ``args`` (the module's ``extra_repr()``) and ``input_shapes``.
"""

import json
import math
import os
from typing import Dict, Optional, Tuple

import nnabla as nn

from ..io import write_text_atomic
from .active import Network

FORMAT = "nnabla_nas.latency_table"
VERSION = 1

#: Seconds per unit of latency.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}

#: ``(context, class name, extra_repr(), input shapes)``.
LayerKey = Tuple[str, str, str, Tuple[Tuple[int, ...], ...]]


def context_string(ctx=None) -> str:
    """The backend and type of an nnabla context, e.g. ``"cpu:float"``.

    Args:
        ctx: A :class:`nnabla.Context` (default: the current default context).
    """
    ctx = nn.get_current_context() if ctx is None else ctx
    return "|".join(ctx.backend)


def with_batch(shape, batch_size: Optional[int]) -> Tuple[int, ...]:
    """``shape`` with its first (batch) axis set to ``batch_size`` (kept when 0/None)."""
    shape = tuple(int(n) for n in shape)
    return (int(batch_size),) + shape[1:] if batch_size and shape else shape


def layer_key(layer: Network, context: str, batch_size: Optional[int] = None) -> LayerKey:
    """The lookup key of ``layer`` as last called, on ``context``, with the batch
    axis of its input shapes set to ``batch_size`` (kept when None or 0).

    Raises:
        RuntimeError: If an input of the last call had no shape (it was not a
            Variable), so the layer cannot be profiled.
    """
    shapes = []
    for shape in layer.input_shapes:
        if shape is None:
            raise RuntimeError(f"cannot profile {type(layer).__name__}"
                               f"({layer.extra_repr()}): an input of its last call was "
                               f"not a Variable (input shapes {layer.input_shapes})")
        shapes.append(with_batch(shape, batch_size))
    return context, type(layer).__name__, layer.extra_repr(), tuple(shapes)


#: Fields of a table besides its entries: where it was measured.
META_KEYS = ("runtime", "device", "input_shape")


def save_table(path: str, latencies: Dict[LayerKey, float], unit: str = "ms",
               meta: Optional[dict] = None) -> None:
    """Writes ``latencies`` (in seconds) to a JSON table in ``unit``, atomically.

    Args:
        meta: ``runtime``, ``device`` and ``input_shape`` (those not None are written).

    Raises:
        ValueError: If ``unit`` is not a time unit.
    """
    scale = _scale(unit)
    meta = {k: v for k, v in (meta or {}).items() if k in META_KEYS and v is not None}
    entries = [{"context": c, "layer": name, "args": args,
                "input_shapes": [list(s) for s in shapes], "latency": seconds / scale}
               for (c, name, args, shapes), seconds in sorted(latencies.items())]
    text = json.dumps({"format": FORMAT, "version": VERSION, "unit": unit, **meta,
                       "entries": entries}, indent=1)
    write_text_atomic(path, text + "\n")


def load_table(path: str) -> Dict[LayerKey, float]:
    """Reads a JSON table written by :func:`save_table`.

    Returns:
        Layer key -> latency in seconds.

    Raises:
        See :func:`read_table`.
    """
    return read_table(path)[0]


def read_table(path: str) -> Tuple[Dict[LayerKey, float], dict]:
    """Reads a JSON table written by :func:`save_table`.

    Returns:
        (layer key -> latency in seconds, the ``runtime``/``device``/``input_shape``
        fields; ``runtime`` is ``nnabla`` when the file has none).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a valid table (the message names the
            file and the faulty entry).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"latency table '{path}' does not exist")

    def fail(what: str) -> ValueError:
        return ValueError(f"latency table '{path}' is malformed: {what}")

    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise fail(f"not readable JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise fail("expected an object with an 'entries' list")
    if data.get("format", FORMAT) != FORMAT or data.get("version", VERSION) != VERSION:
        raise fail(f"unsupported format {data.get('format')!r} version "
                   f"{data.get('version')!r} (expected {FORMAT!r} version {VERSION})")
    unit = data.get("unit")
    if unit not in TIME_UNITS:
        raise fail(f"'unit' must be one of {', '.join(TIME_UNITS)}, got {unit!r}")
    table = {}
    for i, entry in enumerate(data["entries"]):
        try:
            key, value = _parse_entry(entry)
        except (TypeError, ValueError) as err:
            raise fail(f"entry {i}: {err}") from None
        table[key] = value * TIME_UNITS[unit]
    meta = {k: data[k] for k in META_KEYS if k in data}
    meta.setdefault("runtime", "nnabla")
    if not isinstance(meta["runtime"], str):
        raise fail(f"'runtime' must be a string, got {meta['runtime']!r}")
    shape = meta.get("input_shape")
    if shape is not None and not (isinstance(shape, list) and all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)):
        raise fail(f"'input_shape' must be a list of positive integers, got {shape!r}")
    return table, meta


def _parse_entry(entry: dict) -> Tuple[LayerKey, float]:
    if not isinstance(entry, dict):
        raise TypeError(f"expected an object, got {entry!r}")
    missing = [k for k in ("context", "layer", "args", "input_shapes", "latency")
               if k not in entry]
    if missing:
        raise ValueError(f"missing {', '.join(repr(k) for k in missing)}")
    for k in ("context", "layer", "args"):
        if not isinstance(entry[k], str):
            raise TypeError(f"'{k}' must be a string, got {entry[k]!r}")
    shapes = entry["input_shapes"]
    if not isinstance(shapes, list) or not all(
            isinstance(s, list) and all(isinstance(n, int) and not isinstance(n, bool)
                                        for n in s) for s in shapes):
        raise TypeError(f"'input_shapes' must be a list of integer lists, got {shapes!r}")
    value = entry["latency"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < math.inf:
        raise ValueError(f"'latency' must be a finite number >= 0, got {value!r}")
    key = (entry["context"], entry["layer"], entry["args"], tuple(tuple(s) for s in shapes))
    return key, float(value)


def _scale(unit: str) -> float:
    if unit not in TIME_UNITS:
        raise ValueError(f"unknown latency unit {unit!r}; valid units: {', '.join(TIME_UNITS)}")
    return TIME_UNITS[unit]
