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

    def forward(self, clear_no_need_grad: bool = True) -> Tuple[float, float]:
        """Computes loss and error; returns them as floats."""
        nn.forward_all([self.loss, self.error], clear_no_need_grad=clear_no_need_grad)
        return float(self.loss.d), float(self.error.d)


def build_graph(model, batch_size: int, input_shape: Sequence[int],
                loss_weights: Optional[Sequence[float]] = None) -> Graph:
    """Builds ``model``'s graph for a batch of ``batch_size`` inputs."""
    x = nn.Variable((batch_size,) + tuple(input_shape))
    t = nn.Variable((batch_size, 1))
    outputs = model(x)
    loss = model.loss(outputs, t, loss_weights)
    error = model.metrics(outputs, t)["error"]
    loss.persistent = True
    error.persistent = True
    return Graph(x, t, outputs, loss, error)
