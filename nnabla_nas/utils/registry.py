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
    """Name -> callable, filled by the :meth:`register` decorator.

    Args:
        kind: What is registered (``"dataset"``, ``"network"``...), used in
            error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: Dict[str, Callable] = {}

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
        check_kwargs(func, options, f"{path}.{name}" if path else name, exclude=extra)
        return func(**options, **extra)


def accepted_keys(func: Callable) -> Dict[str, inspect.Parameter]:
    """Keyword parameters of ``func`` (of ``__init__`` for a class)."""
    sig = inspect.signature(func)
    return {k: p for k, p in sig.parameters.items()
            if k != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_kwargs(func: Callable, options: Dict[str, Any], path: str,
                 exclude: Iterable[str] = ()) -> None:
    """Raises :class:`ConfigError` for unknown keys, missing required keys and
    values whose type contradicts the default's type."""
    params = {k: p for k, p in accepted_keys(func).items() if k not in set(exclude)}
    for key, value in options.items():
        if key not in params:
            raise ConfigError(f"{path}: unknown key '{key}'{suggest(key, params)}; "
                              f"valid keys: {', '.join(sorted(params))}")
        check_type(f"{path}.{key}", value, params[key].default, params[key].annotation)
    for key, p in params.items():
        if p.default is inspect.Parameter.empty and key not in options:
            raise ConfigError(f"{path}: missing required key '{key}'")


def check_type(path: str, value: Any, default: Any, annotation: Any = None) -> None:
    """Checks ``value`` against the type of ``default`` (when it has a plain one);
    a ``float`` annotation makes an integer default accept any number."""
    if default is None or default is inspect.Parameter.empty:
        return
    if annotation in (float, "float") and isinstance(default, (int, float)):
        default = float(default)
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "a boolean"
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        want = "a number"
        if isinstance(default, int) and ok and float(value) != int(value):
            ok, want = False, "an integer"
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, (list, tuple)):
        ok, want = isinstance(value, (list, tuple)), "a list"
    elif isinstance(default, dict):
        ok, want = isinstance(value, dict), "an object"
    else:
        return
    if not ok:
        raise ConfigError(f"{path}: expected {want}, got {value!r}")
