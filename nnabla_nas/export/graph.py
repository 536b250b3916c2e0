"""The inference graph of a network, with its parameters in a parameter scope.

:func:`nnabla.utils.save.save` names a graph's parameters by looking them up
in the current parameter scope; a parameter it cannot find is written as a
plain input, with no value and no error (the loaded network then computes
with zeros). Our modules own their parameters outside nnabla's scopes, so the
graph is built in a fresh scope that holds exactly the parameters it uses.
"""

import contextlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ..module import MixedOp, Module, SharedKernel
from .errors import ExportError

#: Names of the graph's input and output in the saved files.
INPUT, OUTPUT = "x", "y"
#: Parameter names of the input normalization, when the graph includes it.
NORM_SCALE, NORM_SHIFT = "input_normalization/scale", "input_normalization/shift"

Normalization = Tuple[Sequence[float], Sequence[float]]


@dataclass
class InferenceGraph:
    """A built inference graph.

    Attributes:
        x: The input, ``(batch_size, *input_shape)``.
        y: The output (the first one of a network with several).
        parameters: Name -> Variable of every parameter the graph uses.
        scope: The parameter scope holding ``parameters`` (for saving).
        normalization: ``(mean, std)`` included in the graph, or None.
    """

    x: nn.Variable
    y: nn.Variable
    parameters: "OrderedDict[str, nn.Variable]"
    scope: OrderedDict
    normalization: Optional[Normalization]


@contextlib.contextmanager
def inference_mode(model: Module) -> Iterator[Module]:
    """Within the block every module of ``model`` is in inference mode
    (``training=False``: batch normalization with its running statistics, no
    drop-path, no dropout, no auxiliary head) and every :class:`MixedOp` takes
    its argmax (``mode='max'``); a :class:`SharedKernel` runs as the separate
    convolution the network found holds (:attr:`SharedKernel.detached`). The
    previous values are restored after."""
    modules = [m for _, m in model.get_modules()]
    training = [m.__dict__.get("_training") for m in modules]
    modes = {m: m.mode for m in modules if isinstance(m, MixedOp)}
    shared = {m: m.detached for m in modules if isinstance(m, SharedKernel)}
    try:
        for m in modules:
            m.training = False
        for m in modes:
            m.mode = "max"
        for m in shared:
            m.detached = True
        yield model
    finally:
        for m, detached in shared.items():
            m.detached = detached
        for m, value in zip(modules, training):
            if value is None:
                m.__dict__.pop("_training", None)
            else:
                m.__dict__["_training"] = value
        for m, mode in modes.items():
            m.mode = mode


def _graph_inputs(y: nn.Variable) -> set:
    """The arrays (``Variable.data``) that the functions of ``y``'s graph read
    (a Variable met in a traversal is a new Python object; its array is not)."""
    seen = set()

    def visit(f):
        for v in f.inputs:
            seen.add(v.data)
    y.visit(visit)
    return seen


def _check_shape(input_shape: Sequence[int], batch_size: int) -> Tuple[int, ...]:
    shape = tuple(input_shape)
    if not shape or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
        raise ExportError(f"input_shape must be positive integers without the batch axis, "
                          f"e.g. (3, 32, 32); got {tuple(input_shape)!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ExportError(f"batch size must be a positive integer, got {batch_size!r}")
    return tuple(int(d) for d in shape)


def build_inference_graph(model: Module, input_shape: Sequence[int], batch_size: int = 1,
                          normalization: Optional[Normalization] = None) -> InferenceGraph:
    """Builds ``model``'s inference graph in a fresh parameter scope.

    Args:
        model: The network (any :class:`~nnabla_nas.module.Module`).
        input_shape: One input without the batch axis, e.g. ``(3, 32, 32)``.
        batch_size: The batch axis of the graph.
        normalization: ``(mean, std)`` per channel on the 0..1 scale: the graph
            then takes pixels on the 0..255 scale (float, NCHW) and computes
            ``(x / 255 - mean) / std`` first, as the data loaders do. None: the
            graph takes the network's input as it is.

    Returns:
        The :class:`InferenceGraph`; its parameters share memory with ``model``'s.

    Raises:
        ExportError: A bad shape, normalization or a network whose output is
            not a Variable.
    """
    shape = _check_shape(input_shape, batch_size)
    scope: OrderedDict = OrderedDict()
    x = nn.Variable((batch_size,) + shape)
    # Outside no_grad: ReLU then builds F.relu, which exports as Relu (see ReLU).
    with inference_mode(model), nn.no_grad(False):
        inputs, extra = x, OrderedDict()
        if normalization is not None:
            inputs, extra = _normalize(x, normalization, shape)
        out = model(inputs)
        # The weights of each SharedKernel's separate convolution, under its own name.
        standalone = OrderedDict((f"{k}/_W", m.standalone(weights=False)._W)
                                 for k, m in model.get_modules() if isinstance(m, SharedKernel))
    y = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(y, nn.Variable):
        raise ExportError(f"the network returned {type(out).__name__}, not an nnabla Variable")
    used = _graph_inputs(y)
    named = OrderedDict(extra)
    named.update((k, p) for k, p in model.get_parameters().items() if p.data in used)
    named.update((k, p) for k, p in standalone.items() if p.data in used)
    with nn.parameter_scope("", scope):
        for name, p in named.items():
            nn.parameter.set_parameter(name, p)
    return InferenceGraph(x, y, named, scope, normalization)


def _normalize(x: nn.Variable, normalization: Normalization, shape: Tuple[int, ...]):
    try:
        mean, std = (np.asarray(v, np.float64).reshape(-1) for v in normalization)
    except (TypeError, ValueError):
        raise ExportError(f"normalization must be (mean, std), got {normalization!r}") from None
    channels = shape[0]
    if mean.size != channels or std.size != channels or not np.all(std > 0):
        raise ExportError(f"normalization needs {channels} means and {channels} positive "
                          f"standard deviations (one per input channel), got {normalization!r}")
    bshape = (1, channels) + (1,) * (len(shape) - 1)
    scale = nn.Variable.from_numpy_array((1.0 / (255.0 * std)).astype(np.float32)
                                         .reshape(bshape), need_grad=False)
    shift = nn.Variable.from_numpy_array((-mean / std).astype(np.float32).reshape(bshape),
                                         need_grad=False)
    return F.add2(F.mul2(x, scale), shift), OrderedDict([(NORM_SCALE, scale),
                                                         (NORM_SHIFT, shift)])


def describe_input(graph: InferenceGraph) -> str:
    """What the executor's input expects, in one line (the ONNX file's doc string)."""
    shape = list(graph.x.shape)
    if graph.normalization is None:
        return (f"input '{INPUT}' {shape} float32, already normalized as in training; "
                f"output '{OUTPUT}' logits")
    mean, std = (np.round(np.asarray(v, np.float64).reshape(-1), 6).tolist()
                 for v in graph.normalization)
    return (f"input '{INPUT}' {shape} float32 pixels 0..255 NCHW; the graph computes "
            f"(x / 255 - mean) / std with mean={json.dumps(mean)} std={json.dumps(std)}; "
            f"output '{OUTPUT}' logits")
