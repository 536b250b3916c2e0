"""A negative import cache for ``nnabla.nnabla``, a module that does not exist.

Every :mod:`nnabla.functions` call (``F.convolution``, ``F.relu``, ...) asks
Python's import system for ``nnabla.nnabla`` twice (an implicit relative import
in nnabla's compiled code) and falls back to the absolute name when it is not
found. The failed search walks ``sys.path`` each time: measured here, it took
about 60 of the 100 microseconds of an ``F`` call, which is most of the cost of
rebuilding a graph per sampled path in ProxylessNAS.

Recording the module as absent (``sys.modules[name] = None``, Python's own
negative cache) makes the same lookup fail at once, with the same
``ImportError``, so nnabla behaves exactly as before, only faster.
"""

import importlib.util
import sys

MISSING = "nnabla.nnabla"


def install() -> bool:
    """Records ``nnabla.nnabla`` as absent if it really is; returns whether it did."""
    if MISSING in sys.modules:
        return sys.modules[MISSING] is None
    import nnabla  # noqa: F401  (the parent must be imported to look the child up)
    if importlib.util.find_spec(MISSING) is not None:
        return False
    sys.modules[MISSING] = None
    return True
