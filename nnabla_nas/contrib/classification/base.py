"""`ClassificationModel`: softmax cross-entropy loss and top-1 error for classifiers."""

from typing import Dict, List, Optional, Sequence

import nnabla as nn
import nnabla.functions as F

from ..model import Model, Outputs


def _as_list(values: Outputs) -> List[nn.Variable]:
    return [values] if isinstance(values, nn.Variable) else list(values)


class ClassificationModel(Model):
    """A :class:`~nnabla_nas.contrib.model.Model` whose outputs are class logits.

    ``outputs`` may be one Variable of logits ``(N, num_classes)`` or a
    sequence of them (the main output first, then auxiliary heads).
    ``targets`` are integer labels ``(N, 1)``: one Variable (or a sequence of
    one) used for every output, or one per output.
    """

    def loss(self, outputs: Outputs, targets: Outputs,
             loss_weights: Optional[Sequence[float]] = None) -> nn.Variable:
        """``sum_i w_i * mean(softmax_cross_entropy(outputs[i], targets[i]))``.

        Args:
            outputs: Logits, or a sequence of logits (main + auxiliary).
            targets: Labels, one for all outputs or one per output.
            loss_weights: One weight per output (default 1 for each). Extra
                trailing weights are ignored: a config gives ``[1, 0.4]`` for a
                network with an auxiliary head, which in evaluation mode only
                returns the main output.

        Returns:
            A scalar Variable.

        Raises:
            ValueError: If there are fewer weights than outputs, or the numbers
                of outputs and targets disagree.
        """
        outputs = _as_list(outputs)
        pairs = zip(outputs, self._targets_for(outputs, targets))
        weights = [1.0] * len(outputs) if loss_weights is None else list(loss_weights)
        if len(weights) < len(outputs):
            raise ValueError(f"loss_weights has {len(weights)} values for "
                             f"{len(outputs)} outputs: {weights}")
        total = None
        for w, (y, t) in zip(weights, pairs):
            term = F.mean(F.softmax_cross_entropy(y, t, axis=1)) * w
            total = term if total is None else total + term
        return total

    def metrics(self, outputs: Outputs, targets: Outputs) -> Dict[str, nn.Variable]:
        """``{"error": top-1 error}`` of the first (main) output, a scalar Variable."""
        outputs = _as_list(outputs)
        target = self._targets_for(outputs, targets)[0]
        return {"error": F.mean(F.top_n_error(outputs[0], target, axis=1, n=1))}

    @staticmethod
    def _targets_for(outputs: List[nn.Variable], targets: Outputs) -> List[nn.Variable]:
        targets = _as_list(targets)
        if len(targets) == 1:
            return targets * len(outputs)
        if len(targets) != len(outputs):
            raise ValueError(f"got {len(targets)} targets for {len(outputs)} outputs; "
                             "give one target for all outputs or one per output")
        return targets
