"""The DARTS network skeleton shared by `SearchNet` and `TrainNet`:
stem -> cells -> global average pooling -> linear classifier.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple

from .... import module as Mo
from ..base import ClassificationModel
from .ops import batch_norm


class CellSpec(NamedTuple):
    """Channels and resolution change of one cell of the stack."""
    prev_prev_channels: int
    prev_channels: int
    channels: int
    reduction: bool
    reduction_prev: bool


def cell_specs(stem_channels: int, init_channels: int, num_cells: int,
               multiplier: int) -> List[CellSpec]:
    """The cells of a DARTS stack: reduction cells (which double the channels)
    at ``num_cells // 3`` and ``2 * num_cells // 3``; each cell outputs
    ``multiplier * channels`` channels."""
    reductions = {num_cells // 3, 2 * num_cells // 3}
    specs = []
    prev_prev = prev = stem_channels
    channels, reduction_prev = init_channels, False
    for i in range(num_cells):
        reduction = i in reductions
        channels *= 2 if reduction else 1
        specs.append(CellSpec(prev_prev, prev, channels, reduction, reduction_prev))
        prev_prev, prev, reduction_prev = prev, multiplier * channels, reduction
    return specs


def check_sizes(num_choices: int, multiplier: int, **positive: int) -> None:
    """Raises ValueError unless every size in ``positive`` is an integer >= 1 and
    ``1 <= multiplier <= num_choices``."""
    for name, value in dict(positive, num_choices=num_choices).items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(multiplier, bool) or not isinstance(multiplier, int) \
            or not 1 <= multiplier <= num_choices:
        raise ValueError(f"multiplier must be an integer in 1..num_choices={num_choices} "
                         f"(the number of nodes concatenated), got {multiplier!r}")


class DartsNetwork(ClassificationModel):
    """Stem, a stack of cells, global average pooling and a linear classifier.

    Subclasses build the cells from :func:`cell_specs` and pass them to
    :meth:`_build`.
    """

    def _build(self, in_channels: int, stem_channels: int, cells: Sequence[Mo.Module],
               out_channels: int, num_classes: int) -> None:
        """Registers the stem (3x3 conv + affine batch norm), the cells and the head."""
        self.stem = Mo.Sequential(
            Mo.Conv(in_channels, stem_channels, (3, 3), pad=(1, 1), with_bias=False),
            batch_norm(stem_channels, affine=True))
        self.cells = Mo.ModuleList(cells)
        self.global_pool = Mo.GlobalAvgPool()
        self.classifier = Mo.Linear(out_channels, num_classes)

    def _features(self, input, tap: Optional[int] = None) -> Tuple:
        """``(last cell output, output of cell number tap or None)``."""
        s0 = s1 = self.stem(input)
        tapped = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == tap:
                tapped = s1
        return s1, tapped

    def _classify(self, features):
        return self.classifier(self.global_pool(features))
