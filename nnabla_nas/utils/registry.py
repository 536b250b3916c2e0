"""Registries: names in config files are looked up here, never in ``__dict__``.

A registry maps a name to a callable (a class or a builder function). Its
keyword arguments, read from the signature, are the config keys it accepts;
:meth:`Registry.build` validates a config dict against them before calling.
"""

import difflib
import inspect
from typing import Any, Callable, Dict, Iterable, Optional


class ConfigError(ValueError):
    """A user error in a config value: one line naming the key path and what
    would be right. The CLI prints it and exits with code 2."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Registry:
    """Name -> callable, filled by the :meth:`register` decorator or given as
    an explicit mapping: the one way every registry of the package is filled.

    Args:
        kind: What is registered (``"dataset"``, ``"network"``...), used in
            error messages.
        items: Name -> callable to register at once (an explicit list).
    """

    def __init__(self, kind: str, items: Optional[Dict[str, Callable]] = None):
        self.kind = kind
        self._items: Dict[str, Callable] = {}
        for name, obj in (items or {}).items():
            self.register(name)(obj)

    def register(self, name: Optional[str] = None) -> Callable[[Callable], Callable]:
        """Decorator registering a callable under ``name`` (default its ``__name__``)."""
        def decorator(obj: Callable) -> Callable:
            key = name or obj.__name__
            if key in self._items:
                raise KeyError(f"{self.kind} '{key}' is already registered")
            self._items[key] = obj
            return obj
        return decorator

    def names(self):
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def get(self, name: str, path: str = "") -> Callable:
        """The callable registered as ``name``.

        Raises:
            ConfigError: Naming ``path`` and listing the registered names.
        """
        if name not in self._items:
            where = f"{path}: " if path else ""
            raise ConfigError(f"{where}unknown {self.kind} '{name}'{suggest(name, self._items)}; "
                              f"valid names: {', '.join(self.names())}")
        return self._items[name]

    def build(self, name: str, options: Optional[Dict[str, Any]] = None,
              path: str = "", **extra) -> Any:
        """Validates ``options`` against the signature and calls the callable.

        Args:
            name: Registered name.
            options: Config keyword arguments.
            path: Key path of ``options`` in the config, for messages.
            **extra: Keyword arguments supplied by the program, not the user.
        """
        func = self.get(name, path)
        options = dict(options or {})
        where = f"{path}.{name}" if path else name
        for key in set(options) & set(extra):
            raise ConfigError(f"{where}: '{key}' is set by the program; remove it")
        check_kwargs(func, options, where, exclude=extra)
        return func(**options, **extra)


def accepted_keys(func: Callable) -> Dict[str, inspect.Parameter]:
    """Keyword parameters of ``func`` (of ``__init__`` for a class)."""
    sig = inspect.signature(func)
    return {k: p for k, p in sig.parameters.items()
            if k != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_kwargs(func: Callable, options: Dict[str, Any], path: str,
                 exclude: Iterable[str] = ()) -> None:
    """Raises :class:`ConfigError` for unknown keys, missing required keys and
    values of the wrong type. Keys in ``exclude`` are supplied by the program
    when the config leaves them out, so they are not required."""
    params = accepted_keys(func)
    for key, value in options.items():
        if key not in params:
            raise ConfigError(f"{path}: unknown key '{key}'{suggest(key, params)}; "
                              f"valid keys: {', '.join(sorted(params))}")
        check_type(f"{path}.{key}", value, params[key].default, params[key].annotation)
    for key, p in params.items():
        if p.default is inspect.Parameter.empty and key not in options and key not in exclude:
            raise ConfigError(f"{path}: missing required key '{key}'")


_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
          list: "a list", tuple: "a list", dict: "an object"}


def _expected_kind(default: Any, annotation: Any):
    """The plain type a value must have, from the annotation, else the default."""
    names = {"bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict}
    annotation = names.get(annotation, annotation)
    if annotation in _KINDS:
        return annotation
    if default is None or default is inspect.Parameter.empty:
        return None
    for kind in (bool, int, float, str, list, tuple, dict):
        if isinstance(default, kind):
            return kind
    return None


def check_type(path: str, value: Any, default: Any, annotation: Any = None) -> None:
    """Checks ``value`` against the parameter's annotation (``int``, ``float``,
    ``bool``, ``str``, ``list``, ``dict``) or, without one, its default's type.
    ``None`` is accepted where the default is ``None``."""
    kind = _expected_kind(default, annotation)
    if kind is None or (value is None and default is None):
        return
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and float(value).is_integer())
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is str:
        ok = isinstance(value, str)
    elif kind in (list, tuple):
        ok = isinstance(value, (list, tuple))
    else:
        ok = isinstance(value, dict)
    if not ok:
        raise ConfigError(f"{path}: expected {_KINDS[kind]}, got {value!r}")
