"""The `Module` base class: a tree of submodules and parameters over nnabla.

One invariant, PyTorch style: every Module keeps two ordered dicts, its
immediate submodules and its immediate parameters, filled by ``__setattr__``.
Everything else (parameter collection, ``apply``, save/load, the estimators'
active path) is built on the single traversal :meth:`Module.get_modules`.
"""

from collections import OrderedDict
from typing import Callable, Dict, Iterable, Iterator, Optional, Tuple

import nnabla as nn
import numpy as np

from .parameter import Parameter


class Module:
    """Base class of every layer, block and network.

    Subclasses implement :meth:`call`. Calling a module records the shapes of
    its inputs in :attr:`input_shapes` and returns ``call(*inputs)``.
    Subclasses need not call ``super().__init__()``.
    """

    #: Whether this module only holds items for its owner and is never called
    #: itself (:class:`~nnabla_nas.module.ModuleList`, ``ParameterList``).
    is_container = False
    #: Whether this module is a choice point (:class:`~nnabla_nas.module.MixedOp`)
    #: whose :meth:`path_children` is the operator the last build chose.
    is_choice = False

    # -- registration -------------------------------------------------------
    @property
    def modules(self) -> "OrderedDict[str, Module]":
        """Immediate submodules, in registration order."""
        store = self.__dict__.get("_modules")
        if store is None:  # (setdefault would build a new dict on every access)
            store = self.__dict__["_modules"] = OrderedDict()
        return store

    @property
    def parameters(self) -> "OrderedDict[str, Parameter]":
        """Immediate parameters, in registration order."""
        store = self.__dict__.get("_parameters")
        if store is None:
            store = self.__dict__["_parameters"] = OrderedDict()
        return store

    @property
    def training(self) -> bool:
        """Whether the module is in training mode (default True)."""
        return self.__dict__.get("_training", True)

    @training.setter
    def training(self, mode: bool) -> None:
        self.__dict__["_training"] = bool(mode)

    @property
    def need_grad(self) -> bool:
        """Whether the module's parameters take part in training (default True)."""
        return self.__dict__.get("_need_grad", True)

    @need_grad.setter
    def need_grad(self, flag: bool) -> None:
        self.__dict__["_need_grad"] = bool(flag)

    @property
    def input_shapes(self):
        """Shapes of the inputs of the last call (empty before any call)."""
        return self.__dict__.get("_input_shapes", [])

    @input_shapes.setter
    def input_shapes(self, shapes) -> None:
        self.__dict__["_input_shapes"] = list(shapes)

    def __setattr__(self, name: str, value) -> None:
        self.modules.pop(name, None)
        self.parameters.pop(name, None)
        if isinstance(value, Module):
            self.modules[name] = value
        elif isinstance(value, Parameter):
            self.parameters[name] = value
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails.
        for store in ("_modules", "_parameters"):
            items = self.__dict__.get(store)
            if items is not None and name in items:
                return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        self.modules.pop(name, None)
        self.parameters.pop(name, None)
        object.__delattr__(self, name)

    # -- calling --------------------------------------------------------------
    def __call__(self, *inputs):
        self.__dict__["_input_shapes"] = (  # (one input is the hot path)
            [getattr(inputs[0], "shape", None)] if len(inputs) == 1
            else [getattr(x, "shape", None) for x in inputs])
        return self.call(*inputs)

    def call(self, *inputs):
        """Builds the output Variable(s) from the input Variable(s)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement call()")

    # -- traversal -------------------------------------------------------------
    def get_modules(self, prefix: str = "", prune: Optional[Callable[["Module"], bool]] = None,
                    path: bool = False) -> Iterator[Tuple[str, "Module"]]:
        """Yields ``(name, module)`` for self and every descendant, once each,
        depth first in registration order: the one traversal of the tree, behind
        :meth:`get_parameters`, :meth:`apply` and the estimators' active path.

        Args:
            prefix: Name given to self; children are named ``prefix/child``.
            prune: Called on each module before it is yielded; when it returns
                True, neither the module nor its subtree is visited.
            path: Follow :meth:`path_children` instead of every submodule: only
                the path the last graph build ran (a
                :class:`~nnabla_nas.module.MixedOp` in ``sample`` or ``max`` mode
                leads only to the operator it built).
        """
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen or (prune is not None and prune(module)):
                continue
            seen.add(id(module))
            yield name, module
            try:
                children = module.path_children() if path else module.modules.items()
            except ValueError as err:  # name the module
                raise ValueError(f"'{name or type(module).__name__}': {err}") from None
            for child, sub in reversed(list(children)):
                stack.append((f"{name}/{child}" if name else child, sub))

    def path_children(self) -> Iterable[Tuple[str, "Module"]]:
        """``(name, submodule)`` pairs that the last graph build may have run
        through (all submodules; a :class:`~nnabla_nas.module.MixedOp` narrows
        them to its chosen operator)."""
        return self.modules.items()

    def get_parameters(self, grad_only: bool = False) -> "OrderedDict[str, Parameter]":
        """All parameters of the tree, keyed ``"a/b/_W"``.

        A parameter shared by several modules appears once, under the first
        name met.

        Args:
            grad_only: Skip modules and parameters whose ``need_grad`` is False.
                A module with ``need_grad`` False hides its whole subtree.
        """
        params = OrderedDict()
        seen = set()
        prune = (lambda m: not m.need_grad) if grad_only else None
        for prefix, module in self.get_modules(prune=prune):
            for pname, p in module.parameters.items():
                if id(p) in seen or (grad_only and not p.need_grad):
                    continue
                seen.add(id(p))
                params[f"{prefix}/{pname}" if prefix else pname] = p
        return params

    def apply(self, **attrs) -> "Module":
        """Sets attributes on self and every submodule; returns self.

        Example: ``model.apply(training=False)``.
        """
        for _, module in self.get_modules():
            for key, value in attrs.items():
                setattr(module, key, value)
        return self

    # -- persistence -----------------------------------------------------------
    def set_parameters(self, params: Dict[str, np.ndarray],
                       raise_if_missing: bool = False) -> None:
        """Copies values into this module's parameters, matching by name.

        Args:
            params: Name to array (or Variable) mapping.
            raise_if_missing: Raise if a parameter of the module has no value.

        Raises:
            ValueError: On a missing name (with ``raise_if_missing``) or a
                shape mismatch.
        """
        for name, p in self.get_parameters().items():
            if name not in params:
                if raise_if_missing:
                    raise ValueError(f"parameter '{name}' is missing from the given values")
                continue
            value = params[name]
            value = value.d if isinstance(value, nn.Variable) else np.asarray(value)
            if value.shape != p.shape:
                raise ValueError(f"parameter '{name}' has shape {p.shape}, "
                                 f"the given value has shape {value.shape}")
            p.d = value

    def save_parameters(self, path: str, params: Optional[Dict[str, Parameter]] = None,
                        grad_only: bool = False) -> None:
        """Writes parameters to an ``.h5`` file that ``nnabla.load_parameters`` reads.

        The file is written to a temporary name and renamed, so a crash
        never leaves a half-written file at ``path``.
        """
        from ..utils.io import save_h5_parameters
        params = self.get_parameters(grad_only=grad_only) if params is None else params
        save_h5_parameters(path, params)

    def load_parameters(self, path: str, raise_if_missing: bool = False) -> None:
        """Loads parameters saved by :meth:`save_parameters` (or nnabla)."""
        from ..utils.io import load_h5_parameters
        self.set_parameters(load_h5_parameters(path), raise_if_missing=raise_if_missing)

    # -- printing ----------------------------------------------------------------
    def extra_repr(self) -> str:
        """Arguments shown after the class name in ``str(module)``."""
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self.modules:
            for name, module in self.modules.items():
                child = repr(module).replace("\n", "\n  ")
                lines.append(f"  ({name}): {child}")
            lines.append(")")
            return "\n".join(lines)
        return lines[0] + ")"
