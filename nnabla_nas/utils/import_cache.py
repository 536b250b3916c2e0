"""Import shortcuts for the module names nnabla's compiled code asks for in vain.

nnabla's Cython code imports with Python 2 semantics: ``import nnabla`` or
``from nnabla.variable import Variable`` inside package ``nnabla`` first tries
the *relative* name (``nnabla.nnabla``, ``nnabla.nnabla.variable``) and, when
that fails, the absolute one. Every :mod:`nnabla.functions` call (``F.relu``,
``F.convolution``, ...) does this twice, and every ``Variable.d``/``.g``
access asks for ``nnabla.nnabla_ext.cpu``. Each failed search goes through
the import system's locks (and, uncached, walks ``sys.path``): measured here,
most of the cost of an ``F`` call, which is most of the cost of rebuilding a
graph per sampled path in ProxylessNAS (``bench/micro.py fcall``).

Three shortcuts through ``sys.modules``, each giving nnabla the very object
the absolute fallback would give it, at once:

* ``nnabla.nnabla`` -> a stand-in (:class:`NnablaAlias`) whose attributes are
  those of the real ``nnabla`` package. It is deliberately not a package (no
  ``__path__``): an import of any other ``nnabla.nnabla.X`` still fails at
  once and falls back to ``nnabla.X``, so no nnabla module is ever loaded a
  second time under a new name (that breaks ``nn.auto_forward``);
* the leaves nnabla imports from, ``nnabla.nnabla.variable`` ->
  ``nnabla.variable`` and ``nnabla.nnabla_ext.cpu`` (``.cuda``, ``.cudnn``
  when loaded) -> ``nnabla_ext.cpu`` (:data:`ALIASES`);
* ``nnabla.nnabla_ext`` -> None, Python's own negative cache: the lookup fails
  at once with the same ``ImportError``.

``tests/utils/test_import_cache.py`` checks the results stay those of plain
nnabla (graphs, ``auto_forward``, solvers, parameter files).
"""

import importlib
import importlib.util
import sys
import types

RELATIVE_PACKAGE = "nnabla.nnabla"
MISSING = ("nnabla.nnabla_ext",)
#: Relative name nnabla asks for -> the absolute module it falls back to.
ALIASES = {
    "nnabla.nnabla.variable": "nnabla.variable",
    "nnabla.nnabla_ext.cpu": "nnabla_ext.cpu",
    "nnabla.nnabla_ext.cuda": "nnabla_ext.cuda",
    "nnabla.nnabla_ext.cudnn": "nnabla_ext.cudnn",
}
#: Aliased only once something else has imported them (importing them here
#: would start the CUDA extension, which may have no GPU to talk to).
LOADED_ONLY = ("nnabla_ext.cuda", "nnabla_ext.cudnn")
#: Attributes the stand-in must not take from ``nnabla``: with them Python
#: would treat it as the package itself and import submodules through it.
NOT_FORWARDED = frozenset(("__path__", "__file__", "__cached__"))


class NnablaAlias(types.ModuleType):
    """``sys.modules["nnabla.nnabla"]``: reads, writes and deletes attributes of
    the real ``nnabla`` package, but is not a package itself."""

    def __init__(self, target: types.ModuleType):
        super().__init__(RELATIVE_PACKAGE, target.__doc__)
        self.__dict__["_target"] = target

    def __getattr__(self, name: str):
        if name in NOT_FORWARDED:
            raise AttributeError(f"module '{RELATIVE_PACKAGE}' has no attribute '{name}'")
        return getattr(self.__dict__["_target"], name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self.__dict__["_target"], name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.__dict__["_target"], name)

    def __dir__(self):
        return dir(self.__dict__["_target"])


def _absent(name: str) -> bool:
    """Whether ``name`` names no real module (so a shortcut cannot hide one)."""
    entry = sys.modules.get(name, 0)
    if entry is None or isinstance(entry, NnablaAlias):
        return True
    if entry != 0:
        return False
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return False


def install() -> int:
    """Installs the shortcuts whose real modules are as expected; returns how many
    names are set. Safe to call again (:func:`~nnabla_nas.utils.context.set_context`
    does, after a CUDA extension is loaded)."""
    import nnabla
    if not _absent(RELATIVE_PACKAGE):
        return 0  # a real nnabla.nnabla exists: shortcuts would hide it
    if not isinstance(sys.modules.get(RELATIVE_PACKAGE), NnablaAlias):
        sys.modules[RELATIVE_PACKAGE] = NnablaAlias(nnabla)
    recorded = 1
    for name in MISSING:
        if _absent(name):
            sys.modules[name] = None
            recorded += 1
    for alias, real in ALIASES.items():
        module = sys.modules.get(real)
        if module is None and real not in LOADED_ONLY:
            try:
                module = importlib.import_module(real)
            except ImportError:
                continue
        # Its parent (nnabla.nnabla or nnabla.nnabla_ext) is absent, so is it.
        if module is not None and _absent(alias.rpartition(".")[0]):
            sys.modules[alias] = module
            recorded += 1
    return recorded
