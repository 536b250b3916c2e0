"""Containers: `ModuleList`, `ParameterList` and `Sequential`."""

from collections import OrderedDict
from typing import Iterable, Optional

from .module import Module
from .parameter import Parameter


class _List(Module):
    """A list whose items are registered under their index ("0", "1", ...)."""

    is_container = True
    _item_type = object
    _store = ""

    def __init__(self, items: Optional[Iterable] = None):
        if items is not None:
            self.extend(items)

    @classmethod
    def _from_items(cls, items):
        return cls(items)

    def _items(self) -> "OrderedDict":
        return getattr(self, self._store)

    def _check(self, item):
        if not isinstance(item, self._item_type):
            raise TypeError(f"{type(self).__name__} accepts only "
                            f"{self._item_type.__name__} items, got {item!r} "
                            f"of type {type(item).__name__}")
        return item

    def _reset(self, items) -> None:
        store = self._items()
        store.clear()
        for i, item in enumerate(items):
            store[str(i)] = item

    def __getitem__(self, index):
        values = list(self._items().values())
        if isinstance(index, slice):
            return self._from_items(values[index])
        return values[index]

    def __setitem__(self, index, item) -> None:
        values = list(self._items().values())
        values[index] = self._check(item)
        self._reset(values)

    def __delitem__(self, index) -> None:
        values = list(self._items().values())
        del values[index]
        self._reset(values)

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self):
        return iter(list(self._items().values()))

    def __iadd__(self, items):
        return self.extend(items)

    def append(self, item):
        """Appends one item; returns self."""
        self._items()[str(len(self))] = self._check(item)
        return self

    def extend(self, items):
        """Appends every item of ``items``; returns self."""
        for item in items:
            self.append(item)
        return self

    def insert(self, index: int, item) -> None:
        """Inserts ``item`` before ``index``."""
        values = list(self._items().values())
        values.insert(index, self._check(item))
        self._reset(values)

    def index(self, item) -> int:
        """Position of ``item`` (by identity)."""
        for i, value in enumerate(self._items().values()):
            if value is item:
                return i
        raise ValueError(f"{item!r} is not in the {type(self).__name__}")

    def extra_repr(self) -> str:
        return f"len={len(self)}"


class ModuleList(_List):
    """A list of Modules, each registered as a child.

    Args:
        modules: Initial modules.

    Raises:
        TypeError: If an item is not a Module (the message names the item).
    """

    _item_type = Module
    _store = "modules"


class ParameterList(_List):
    """A list of Parameters, each registered on this module.

    Args:
        parameters: Initial parameters.

    Raises:
        TypeError: If an item is not a Parameter (the message names the item).
    """

    _item_type = Parameter
    _store = "parameters"


class Sequential(ModuleList):
    """Chains modules: the output of each is the input of the next.

    Args:
        *modules: Modules in order, or one ``OrderedDict`` of name -> module.
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                setattr(self, name, self._check(module))
        else:
            super().__init__(modules)

    @classmethod
    def _from_items(cls, items):
        return cls(*items)

    def call(self, *inputs):
        out = inputs
        for module in self.modules.values():
            out = module(*out) if isinstance(out, tuple) else module(out)
        return out

    def extra_repr(self) -> str:
        return ""
