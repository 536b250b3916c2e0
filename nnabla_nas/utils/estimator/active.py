"""The active path of a network: the modules its last graph build ran.

A search network holds every candidate operator, but a sampled (or argmax)
architecture runs only some of them. Hardware estimators must look at those
alone. A :class:`~nnabla_nas.module.MixedOp` in ``sample``/``max`` mode
remembers the operator it built last (:attr:`MixedOp.active_index`); every
module records the shapes of its last inputs (:attr:`Module.input_shapes`).
"""

from typing import Iterator, List, Tuple

from ...module import MixedOp, Module


def active_modules(model: Module, prefix: str = "") -> Iterator[Tuple[str, Module]]:
    """Yields ``(name, module)`` for every module of the active path, once each.

    The walk starts at ``model`` and follows :attr:`Module.modules`, except
    that a :class:`MixedOp` in ``sample`` or ``max`` mode leads only to
    ``_ops[active_index]`` (in ``full`` mode, to all of its operators) and a
    MixedOp never called leads nowhere.
    Modules never called (empty :attr:`Module.input_shapes`) are skipped, but
    their children are still visited: containers such as
    :class:`~nnabla_nas.module.ModuleList` are never called themselves.

    Args:
        model: Root of the tree, after at least one graph build.
        prefix: Name given to ``model``; descendants are named ``prefix/child``.

    Raises:
        ValueError: If a called MixedOp is in ``sample``/``max`` mode but has
            no active operator (its mode changed since its last call).
    """
    seen = set()
    stack = [(prefix, model)]
    while stack:
        name, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        if module.input_shapes:
            yield name, module
        children = list(module.modules.items())
        if isinstance(module, MixedOp):
            children = _active_ops(name, module)
        for child, sub in reversed(children):
            stack.append((f"{name}/{child}" if name else child, sub))


def _active_ops(name: str, op: MixedOp) -> List[Tuple[str, Module]]:
    """The ``(child name, operator)`` pairs of ``op`` that its last call ran."""
    if not op.input_shapes:
        return []  # never called: none of its operators is on the path
    if op.mode == "full":
        return [(f"_ops/{k}", m) for k, m in enumerate(op._ops)]
    if op.active_index is None:
        raise ValueError(f"MixedOp '{name or type(op).__name__}' is in '{op.mode}' mode but "
                         f"has not been called since its mode changed; build the graph "
                         f"before estimating")
    return [(f"_ops/{op.active_index}", op._ops[op.active_index])]


def active_leaves(model: Module) -> List[Tuple[str, Module]]:
    """``(name, layer)`` for the leaves (modules without submodules) of
    :func:`active_modules`, in graph-definition order."""
    return [(name, m) for name, m in active_modules(model) if not m.modules]


def active_layers(model: Module) -> List[Module]:
    """The leaf modules on the active path of the last graph build.

    Parameter-free leaves (ReLU, pooling, ...) are included: they cost time
    even though they hold no weights.

    Args:
        model: Root of the tree, after at least one graph build.

    Returns:
        Each active leaf once, in graph-definition order.

    Raises:
        ValueError: See :func:`active_modules`.
    """
    return [m for _, m in active_leaves(model)]


def active_operators(model: Module) -> List[Tuple[str, Module]]:
    """``(name, module)`` of the units a runtime that fuses layers is timed on,
    in graph-definition order (see :func:`active_modules`):

    * the operator each :class:`MixedOp` ran, whole;
    * outside the MixedOps, each called module whose children are all leaves
      (such as a convolution, batch normalization, activation sequence,
      which ONNX Runtime fuses into one kernel), whole;
    * the other leaves outside the MixedOps.

    Raises:
        ValueError: See :func:`active_modules`.
    """
    units, stack = [], [("", model)]
    while stack:
        name, module = stack.pop()
        if isinstance(module, MixedOp):
            units.extend((f"{name}/{child}", op) for child, op in _active_ops(name, module)
                         if op.input_shapes)
            continue
        children = list(module.modules.items())
        if not children or (module.input_shapes and all(not m.modules for _, m in children)):
            if module.input_shapes:
                units.append((name, module))
            continue
        for child, sub in reversed(children):
            stack.append((f"{name}/{child}" if name else child, sub))
    return units
