"""A negative import cache for ``nnabla.nnabla`` and ``nnabla.nnabla_ext``,
modules that do not exist.

Every :mod:`nnabla.functions` call (``F.convolution``, ``F.relu``, ...) asks
Python's import system for ``nnabla.nnabla`` twice, and other calls ask for
``nnabla.nnabla_ext`` (implicit relative imports in nnabla's compiled code);
each falls back to the absolute name when it is not found. The failed search walks ``sys.path`` each time: measured here, it took
about 60 of the 100 microseconds of an ``F`` call, which is most of the cost of
rebuilding a graph per sampled path in ProxylessNAS.

Recording the module as absent (``sys.modules[name] = None``, Python's own
negative cache) makes the same lookup fail at once, with the same
``ImportError``, so nnabla behaves exactly as before, only faster.
"""

import importlib.util
import sys

MISSING = ("nnabla.nnabla", "nnabla.nnabla_ext")


def install() -> int:
    """Records each name of :data:`MISSING` as absent if it really is; returns
    how many are recorded."""
    import nnabla  # noqa: F401  (the parent must be imported to look the children up)
    recorded = 0
    for name in MISSING:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None
        recorded += sys.modules.get(name, 0) is None
    return recorded
