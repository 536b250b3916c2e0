"""`TrainNet`: a network built from a DARTS genotype, trained from scratch.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

from typing import Union

import nnabla.functions as F

from .... import module as Mo
from .cells import DropPath, TrainCell
from .genotype import Genotype, load_genotype
from .network import DartsNetwork, cell_specs, check_sizes
from .ops import batch_norm


class AuxiliaryHead(Mo.Module):
    """DARTS' CIFAR auxiliary classifier: ReLU, 5x5 average pooling with
    stride 3, 1x1 conv to 128 channels, BN, ReLU, 2x2 conv to 768 channels,
    BN, ReLU, linear.

    Made for an 8x8 input (2x2 after pooling, 1x1 after the 2x2 conv), it is
    robust to smaller ones: the pooling kernel is clamped to the feature size,
    a pooled map smaller than 2x2 is zero-padded at the bottom/right, and
    the 768 channels are globally averaged before the linear layer (a no-op
    at the 8x8 size).

    Args:
        in_channels: Channels of the input features.
        num_classes: Number of classes.
    """

    def __init__(self, in_channels: int, num_classes: int):
        self._relu = Mo.ReLU()
        self._reduce = Mo.Sequential(Mo.Conv(in_channels, 128, (1, 1), with_bias=False),
                                     batch_norm(128, affine=True), Mo.ReLU())
        self._expand = Mo.Sequential(Mo.Conv(128, 768, (2, 2), with_bias=False),
                                     batch_norm(768, affine=True), Mo.ReLU())
        self._pool = Mo.GlobalAvgPool()
        self._classifier = Mo.Linear(768, num_classes)

    def call(self, input):
        x = self._relu(input)
        kernel = (min(5, x.shape[2]), min(5, x.shape[3]))
        x = self._reduce(F.average_pooling(x, kernel, (3, 3), including_pad=False))
        pad_h, pad_w = max(0, 2 - x.shape[2]), max(0, 2 - x.shape[3])
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_h, 0, pad_w))
        return self._classifier(self._pool(self._expand(x)))


class TrainNet(DartsNetwork):
    """The DARTS train network: a stack of :class:`~.cells.TrainCell` built from
    a genotype, reduction cells at ``num_cells // 3`` and ``2 * num_cells // 3``.

    Args:
        in_channels: Channels of the input images.
        init_channels: Channels of the nodes of the first cells (doubled at
            each reduction cell).
        num_cells: Number of cells.
        num_classes: Number of classes.
        genotype: Path of an ``arch.json`` written by
            :meth:`SearchNet.save_arch <.search.SearchNet.save_arch>`, or
            the loaded dict (layout in :mod:`.genotype`).
        num_choices: Intermediate nodes per cell; must match the genotype.
        multiplier: Number of last nodes concatenated into a cell's output.
        stem_multiplier: The stem outputs ``stem_multiplier * init_channels``
            channels.
        drop_path: Initial :attr:`drop_path_prob`.
        auxiliary: Add the auxiliary head after cell ``2 * num_cells // 3``;
            in training the network then returns ``(logits, aux_logits)``
            (weight them with ``loss_weights``), in evaluation only logits.

    Raises:
        ValueError: For a bad genotype (one line naming the file and the
            problem), a non-positive size or ``drop_path`` outside ``[0, 1)``.
    """

    def __init__(self, in_channels: int, init_channels: int, num_cells: int,
                 num_classes: int, genotype: Union[str, Genotype], num_choices: int = 4,
                 multiplier: int = 4, stem_multiplier: int = 3, drop_path: float = 0,
                 auxiliary: bool = False):
        check_sizes(num_choices, multiplier, in_channels=in_channels,
                    init_channels=init_channels, num_cells=num_cells,
                    num_classes=num_classes, stem_multiplier=stem_multiplier)
        self._genotype = load_genotype(genotype, num_choices)
        stem_channels = stem_multiplier * init_channels
        specs = cell_specs(stem_channels, init_channels, num_cells, multiplier)
        cells = [TrainCell(self._genotype["reduce" if spec.reduction else "normal"], *spec,
                           multiplier=multiplier) for spec in specs]
        self._build(in_channels, stem_channels, cells, multiplier * specs[-1].channels,
                    num_classes)
        self._aux_index = 2 * num_cells // 3 if auxiliary else None
        if auxiliary:
            self.auxiliary_head = AuxiliaryHead(multiplier * specs[self._aux_index].channels,
                                                num_classes)
        self.drop_path_prob = drop_path

    @property
    def drop_path_prob(self) -> float:
        """Probability of dropping each non-identity edge in training; a
        trainer may change it between epochs."""
        return self.__dict__["_drop_path_prob"]

    @drop_path_prob.setter
    def drop_path_prob(self, prob: float) -> None:
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0 <= prob < 1:
            raise ValueError(f"drop_path must be a number in [0, 1), got {prob!r}")
        self.__dict__["_drop_path_prob"] = float(prob)
        for _, module in self.get_modules():
            if isinstance(module, DropPath):
                module.drop_prob = float(prob)

    def genotype(self) -> Genotype:
        """The genotype the network was built from."""
        return self._genotype

    def call(self, input):
        tap = self._aux_index if self.training else None
        features, aux_features = self._features(input, tap)
        logits = self._classify(features)
        if aux_features is None:
            return logits
        return logits, self.auxiliary_head(aux_features)

    def extra_repr(self) -> str:
        return (f"drop_path_prob={self.drop_path_prob}, "
                f"auxiliary={self._aux_index is not None}")
