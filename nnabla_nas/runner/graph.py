"""`Graph`: one built nnabla graph of a model with its input placeholders."""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import nnabla as nn
import numpy as np


@dataclass
class Graph:
    """Placeholders and outputs of one forward graph.

    Attributes:
        x: Input placeholder ``(B, C, H, W)``.
        t: Target placeholder ``(B, 1)``.
        outputs: The model's output Variable(s).
        loss: Scalar loss Variable.
        error: Scalar top-1 error Variable.
    """

    x: nn.Variable
    t: nn.Variable
    outputs: object
    loss: nn.Variable
    error: nn.Variable

    def feed(self, batch: Tuple[np.ndarray, np.ndarray]) -> None:
        """Copies a ``(x, y)`` batch into the placeholders."""
        self.x.d, self.t.d = batch

    def forward(self, clear_no_need_grad: bool = True,
                clear_buffer: bool = False) -> Tuple[float, float]:
        """Computes loss and error; returns them as floats.

        Args:
            clear_no_need_grad: Free what the backward pass will not need.
            clear_buffer: Free every intermediate buffer as soon as it is used
                (for graphs that will not run backward).
        """
        nn.forward_all([self.loss, self.error], clear_buffer=clear_buffer,
                       clear_no_need_grad=clear_no_need_grad)
        return float(self.loss.d), float(self.error.d)


#: Functions whose outputs are cheap to compute again: with ``recompute`` their
#: outputs are dropped after the forward pass and recomputed in the backward pass.
#: (``MaximumScalar`` is how :class:`~nnabla_nas.module.ReLU` computes a ReLU.)
CHEAP_FUNCTIONS = ("ReLU", "MaximumScalar", "BatchNormalization", "Reshape", "MaxPooling",
                   "AveragePooling")


def mark_recompute(root: nn.Variable, functions: Sequence[str] = CHEAP_FUNCTIONS) -> int:
    """Sets ``recompute=True`` on the outputs of ``functions`` in ``root``'s graph.

    nnabla then frees those outputs during ``forward(clear_no_need_grad=True)``
    and recomputes them when ``backward`` needs them: the same numbers, less
    memory, a little more time. Returns the number of outputs marked.
    """
    marked = []

    def visit(f):
        if f.info.type_name in functions:
            for out in f.outputs:
                out.apply(recompute=True)
                marked.append(out)
    root.visit(visit)
    return len(marked)


def build_graph(model, batch_size: int, input_shape: Sequence[int],
                loss_weights: Optional[Sequence[float]] = None,
                recompute: bool = False) -> Graph:
    """Builds ``model``'s graph for a batch of ``batch_size`` inputs.

    Args:
        recompute: Recompute cheap activations in the backward pass instead of
            keeping them (see :func:`mark_recompute`).
    """
    x = nn.Variable((batch_size,) + tuple(input_shape))
    t = nn.Variable((batch_size, 1))
    outputs = model(x)
    loss = model.loss(outputs, t, loss_weights)
    error = model.metrics(outputs, t)["error"]
    loss.persistent = True
    error.persistent = True
    if recompute:
        mark_recompute(loss)
    return Graph(x, t, outputs, loss, error)
