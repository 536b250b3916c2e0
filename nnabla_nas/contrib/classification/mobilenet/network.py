"""The MobileNetV2 skeleton shared by `SearchNet` and `TrainNet`: the stage
table (``settings``), the blocks it unrolls into, the candidates each block
offers, and stem -> fixed MB1 3x3 -> blocks -> 1x1 conv -> pool -> dropout ->
linear.

References:
    Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and
    Linear Bottlenecks. CVPR 2018.
"""

import numbers
from typing import List, NamedTuple, Optional, Sequence, Tuple

from .... import module as Mo
from ..base import ClassificationModel
from .blocks import CANDIDATES, SKIP, ConvBNReLU6, InvertedResidual, make_divisible

Settings = Sequence[Sequence[int]]

#: MobileNetV2's ImageNet stages ``[channels, num_blocks, stride]`` after the
#: fixed first block (the paper's table without its ``t=1`` row).
IMAGENET_SETTINGS = ((24, 2, 2), (32, 3, 2), (64, 4, 2), (96, 3, 1), (160, 3, 2),
                     (320, 1, 1))

#: The same stages for 32x32 inputs: the first stage keeps the resolution
#: (use with ``stem_stride=1``: 32 -> 32 -> 16 -> 8 -> 4 before pooling).
CIFAR_SETTINGS = ((24, 2, 1), (32, 3, 2), (64, 4, 2), (96, 3, 1), (160, 3, 2),
                  (320, 1, 1))

STEM_CHANNELS, FIRST_CHANNELS, LAST_CHANNELS = 32, 16, 1280


class BlockSpec(NamedTuple):
    """Channels and stride of one searchable block."""
    in_channels: int
    out_channels: int
    stride: int

    @property
    def keeps_shape(self) -> bool:
        """Stride 1 and equal channels: a skip is possible."""
        return self.stride == 1 and self.in_channels == self.out_channels


def _check_int(name: str, value, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_arguments(num_classes: int, width_mult: float, drop_rate: float, stem_stride: int,
                    in_channels: int) -> None:
    """Raises ValueError for a bad size, ``width_mult <= 0`` or ``drop_rate``
    outside ``[0, 1)``."""
    for name, value in (("num_classes", num_classes), ("stem_stride", stem_stride),
                        ("in_channels", in_channels)):
        _check_int(name, value)
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) \
            or not width_mult > 0:
        raise ValueError(f"width_mult must be a number > 0, got {width_mult!r}")
    if isinstance(drop_rate, bool) or not isinstance(drop_rate, (int, float)) \
            or not 0 <= drop_rate < 1:
        raise ValueError(f"drop_rate must be a number in [0, 1), got {drop_rate!r}")


def check_settings(settings: Optional[Settings]) -> Tuple[Tuple[int, int, int], ...]:
    """The stage table as tuples (default :data:`IMAGENET_SETTINGS`).

    Raises:
        ValueError: Unless every row is ``[channels >= 1, num_blocks >= 0,
            stride >= 1]`` and there is at least one block.
    """
    if settings is None:
        return IMAGENET_SETTINGS
    if isinstance(settings, (str, bytes)) or not isinstance(settings, Sequence):
        raise ValueError(f"settings must be a list of [channels, num_blocks, stride] "
                         f"rows, got {settings!r}")
    rows = []
    for row in settings:
        ok = isinstance(row, Sequence) and len(row) == 3 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in row)
        if not ok or row[0] < 1 or row[1] < 0 or row[2] < 1:
            raise ValueError(f"settings row {row!r} is not [channels >= 1, num_blocks >= 0, "
                             f"stride >= 1]")
        rows.append(tuple(int(v) for v in row))
    if sum(row[1] for row in rows) == 0:
        raise ValueError(f"settings {settings!r} have no block")
    return tuple(rows)


def check_candidates(candidates: Optional[Sequence[str]]) -> Tuple[str, ...]:
    """The chosen candidate names in :data:`~.blocks.CANDIDATES` order (default all).

    Raises:
        ValueError: For an empty list, a repeated name or an unknown name
            (the message lists the valid ones).
    """
    if candidates is None:
        return CANDIDATES
    if isinstance(candidates, str) or not isinstance(candidates, Sequence) or not candidates:
        raise ValueError(f"candidates must be a non-empty list of names from "
                         f"{', '.join(CANDIDATES)}; got {candidates!r}")
    for name in candidates:
        if name not in CANDIDATES:
            hint = " (use skip_connect for the identity)" if name == SKIP else ""
            raise ValueError(f"unknown candidate {name!r}{hint}; valid names: "
                             f"{', '.join(CANDIDATES)}")
    if len(set(candidates)) != len(candidates):
        raise ValueError(f"candidates {list(candidates)} repeat a name")
    return tuple(name for name in CANDIDATES if name in candidates)


def block_specs(settings: Settings, width_mult: float) -> List[BlockSpec]:
    """The searchable blocks of the stage table: the first block of a stage
    has the stage's stride, the others stride 1; channels are
    ``make_divisible(c * width_mult, 8)``, starting from the fixed block's."""
    in_channels = make_divisible(FIRST_CHANNELS * width_mult)
    specs = []
    for channels, num_blocks, stride in settings:
        out_channels = make_divisible(channels * width_mult)
        for i in range(num_blocks):
            specs.append(BlockSpec(in_channels, out_channels, stride if i == 0 else 1))
            in_channels = out_channels
    return specs


def block_candidates(spec: BlockSpec, candidates: Sequence[str],
                     skip_connect: bool) -> Tuple[str, ...]:
    """The names a block chooses among: ``candidates``, then :data:`~.blocks.SKIP`
    when ``skip_connect`` and the block keeps the shape."""
    return tuple(candidates) + ((SKIP,) if skip_connect and spec.keeps_shape else ())


class MobileNetBase(ClassificationModel):
    """Stem conv 3x3 + BN + ReLU6, a fixed ``MB1 3x3`` block, the searchable
    (or chosen) blocks, 1x1 conv + BN + ReLU6 to ``1280 * max(1, width_mult)``
    channels, global average pooling, dropout and a linear classifier.

    Subclasses call :meth:`_build` with one module per :func:`block_specs` entry.
    """

    def _build(self, blocks: Sequence[Mo.Module], specs: Sequence[BlockSpec],
               num_classes: int, width_mult: float, drop_rate: float, stem_stride: int,
               in_channels: int) -> None:
        """Registers the stem, the fixed block, ``blocks`` (one per spec) and the head."""
        stem_channels = make_divisible(STEM_CHANNELS * width_mult)
        first_channels = specs[0].in_channels        # FIRST_CHANNELS, rounded
        last_channels = make_divisible(LAST_CHANNELS * max(1.0, width_mult))
        self.stem = ConvBNReLU6(in_channels, stem_channels, 3, stride=stem_stride)
        self.first_block = InvertedResidual(stem_channels, first_channels, 1, 1, 3)
        self.blocks = Mo.ModuleList(blocks)
        self.last_conv = ConvBNReLU6(specs[-1].out_channels, last_channels, 1)
        self.global_pool = Mo.GlobalAvgPool()
        self.dropout = Mo.Dropout(drop_rate)
        self.classifier = Mo.Linear(last_channels, num_classes)
        self._specs = list(specs)

    @property
    def specs(self) -> List[BlockSpec]:
        """Channels and stride of each searchable block."""
        return list(self._specs)

    def call(self, input):
        x = self.first_block(self.stem(input))
        for block in self.blocks:
            x = block(x)
        x = self.global_pool(self.last_conv(x))
        return self.classifier(self.dropout(x))
