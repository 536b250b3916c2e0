"""The active path of a network: the modules its last graph build ran.

A search network holds every candidate operator, but a sampled (or argmax)
architecture runs only some of them. Hardware estimators must look at those
alone. The walk is the module tree's own
(``Module.get_modules(path=True)``): a
:class:`~nnabla_nas.module.MixedOp` leads only to the operator it built last,
and every module records the shapes of its last inputs
(``Module.input_shapes``). Nothing here imports the module package: the
estimators take any tree with that interface.
"""

from typing import Iterator, List, Tuple

#: A :class:`~nnabla_nas.module.Module` (the estimators only call its methods).
Network = object


def active_modules(model: Network, prefix: str = "") -> Iterator[Tuple[str, Network]]:
    """Yields ``(name, module)`` for every module of the active path, once each.

    The walk starts at ``model`` and follows each module's ``path_children()``:
    a :class:`~nnabla_nas.module.MixedOp` in ``sample`` or ``max`` mode leads
    only to its active operator (in ``full`` mode, to all of them) and a
    MixedOp never called leads nowhere. Modules never called (empty
    ``input_shapes``) are skipped, but their children are still visited:
    containers such as :class:`~nnabla_nas.module.ModuleList` are never called
    themselves.

    Args:
        model: Root of the tree, after at least one graph build.
        prefix: Name given to ``model``; descendants are named ``prefix/child``.

    Raises:
        ValueError: If a called MixedOp is in ``sample``/``max`` mode but has
            no active operator (its mode changed since its last call).
    """
    for name, module in model.get_modules(prefix, path=True):
        if module.input_shapes:
            yield name, module


def active_leaves(model: Network) -> List[Tuple[str, Network]]:
    """``(name, layer)`` for the leaves (modules without submodules) of
    :func:`active_modules`, in graph-definition order."""
    return [(name, m) for name, m in active_modules(model) if not m.modules]


def active_layers(model: Network) -> List[Network]:
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


def active_operators(model: Network) -> List[Tuple[str, Network]]:
    """``(name, module)`` of the units a runtime that fuses layers is timed on,
    in graph-definition order (see :func:`active_modules`):

    * the operator each choice point (a :class:`~nnabla_nas.module.MixedOp`,
      ``is_choice``) ran, whole;
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
        if module.is_choice:
            units.extend((f"{name}/{child}", op) for child, op in module.path_children()
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
