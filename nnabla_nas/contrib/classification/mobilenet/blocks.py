"""The blocks of the MobileNetV2 space: the inverted residual (``MB<e> <k>x<k>``),
the conv-BN-ReLU6 stem and head, and the candidate names a searchable block
chooses among.

A candidate name is ``"MB<expansion> <kernel>x<kernel>"`` (for example
``"MB6 5x5"``: expand the channels 6 times, 5x5 depthwise convolution) or
:data:`SKIP` (the identity, offered only where a block keeps the shape).

References:
    Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and
    Linear Bottlenecks. CVPR 2018.
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
"""

import re
from typing import List, Optional, Sequence, Tuple

from .... import module as Mo

#: Searchable inverted-residual candidates, in MixedOp index order.
CANDIDATES = ("MB3 3x3", "MB3 5x5", "MB3 7x7", "MB6 3x3", "MB6 5x5", "MB6 7x7")

#: The identity candidate, last in a block's MixedOp when present.
SKIP = "skip"

_NAME = re.compile(r"MB(\d+) (\d+)x\2")


def make_divisible(value: float, divisor: int = 8, min_value: Optional[int] = None) -> int:
    """Rounds a channel count to the nearest multiple of ``divisor``, never
    below ``min_value`` (default ``divisor``) and never more than 10% down,
    as in the reference MobileNetV2 implementations.

    Args:
        value: The unrounded channel count (e.g. ``c * width_mult``).
        divisor: The multiple to round to.
        min_value: The smallest result.

    Returns:
        The rounded channel count.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def parse_candidate(name: str) -> Tuple[int, int]:
    """``(expansion, kernel)`` of a candidate name such as ``"MB6 5x5"``.

    Raises:
        ValueError: If ``name`` is not of the form ``MB<e> <k>x<k>``.
    """
    match = _NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"'{name}' is not an inverted-residual name like 'MB6 3x3'")
    return int(match.group(1)), int(match.group(2))


def batch_norm(channels: int) -> Mo.BatchNormalization:
    """Affine batch normalization over the channels of an NCHW input."""
    return Mo.BatchNormalization(channels, 4)


class ConvBNReLU6(Mo.Sequential):
    """Bias-free ``kernel x kernel`` convolution (padding ``kernel // 2``),
    batch normalization, ReLU6: the stem and the last layer of MobileNetV2.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel: Square kernel size.
        stride: Stride.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3,
                 stride: int = 1):
        super().__init__(
            Mo.Conv(in_channels, out_channels, (kernel, kernel), pad=(kernel // 2,) * 2,
                    stride=(stride, stride), with_bias=False),
            batch_norm(out_channels), Mo.ReLU6())


class InvertedResidual(Mo.Module):
    """MobileNetV2's inverted residual ``MB<expansion> <kernel>x<kernel>``.

    1x1 expansion to ``in_channels * expansion`` channels (bias-free) + BN +
    ReLU6 (left out when ``expansion`` is 1), depthwise ``kernel x kernel``
    convolution (stride ``stride``, padding ``kernel // 2``, bias-free) + BN +
    ReLU6, 1x1 linear projection to ``out_channels`` + BN. The input is added
    to the output when ``stride`` is 1 and ``in_channels == out_channels``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the depthwise convolution.
        expansion: Expansion ratio of the hidden channels.
        kernel: Square kernel size of the depthwise convolution (odd).
        like: An :class:`InvertedResidual` with the same input, output and
            stride, at least as many hidden channels and at least as large a
            kernel, whose convolution weights this one uses
            (:class:`~nnabla_nas.module.SharedKernel`: the first hidden
            channels, the centre of the kernel); None for weights of its own.
            Batch normalization is never shared.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int,
                 kernel: int, like: Optional["InvertedResidual"] = None):
        hidden = int(round(in_channels * expansion))
        pad, strides = (kernel // 2,) * 2, (stride, stride)
        if like is None:
            expand = Mo.Conv(in_channels, hidden, (1, 1), with_bias=False)
            depthwise = Mo.DwConv(hidden, (kernel, kernel), pad=pad, stride=strides,
                                  with_bias=False)
            project = Mo.Conv(hidden, out_channels, (1, 1), with_bias=False)
        else:
            convs = [m for m in like.conv.modules.values() if isinstance(m, (Mo.Conv, Mo.DwConv))]
            if len(convs) < 2:
                raise ValueError(f"like={like.name} holds no weights of its own to share")
            expand = Mo.SharedKernel(convs[0], out_channels=hidden) if expansion != 1 else None
            depthwise = Mo.SharedKernel(convs[-2], (kernel, kernel), pad=pad, stride=strides,
                                        in_channels=hidden)
            project = Mo.SharedKernel(convs[-1], in_channels=hidden)
        layers = []
        if expansion != 1:
            layers += [expand, batch_norm(hidden), Mo.ReLU6()]
        layers += [depthwise, batch_norm(hidden), Mo.ReLU6(), project, batch_norm(out_channels)]
        self.conv = Mo.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.expansion, self.kernel = stride, expansion, kernel

    @property
    def residual(self) -> bool:
        """Whether the input is added to the output."""
        return self.stride == 1 and self.in_channels == self.out_channels

    @property
    def name(self) -> str:
        """The candidate name, e.g. ``"MB6 5x5"``."""
        return f"MB{self.expansion} {self.kernel}x{self.kernel}"

    def call(self, input):
        output = self.conv(input)
        return input + output if self.residual else output

    def extra_repr(self) -> str:
        return (f"{self.name}, in_channels={self.in_channels}, "
                f"out_channels={self.out_channels}, stride={self.stride}")


def build_candidates(names: Sequence[str], in_channels: int, out_channels: int, stride: int,
                     share_kernels: bool = False) -> List[Mo.Module]:
    """Builds the candidates ``names`` of one block, in that order.

    Args:
        names: Candidate names (see :func:`build_candidate`).
        in_channels, out_channels, stride: The block's.
        share_kernels: Every inverted residual uses the weights of the widest
            one with the largest kernel (the first hidden channels, the centre
            of the kernel: Single-Path NAS' superkernel), when that one
            contains it; so drawing any of them trains the shared weights.
    """
    if not share_kernels:
        return [build_candidate(name, in_channels, out_channels, stride) for name in names]
    sizes = {name: parse_candidate(name) for name in names if name != SKIP}
    owner = max(sizes, key=lambda name: sizes[name], default=None)
    built = {}
    if owner is not None:
        built[owner] = build_candidate(owner, in_channels, out_channels, stride)
    for name in names:
        if name not in built:
            inside = name in sizes and all(a <= b for a, b in zip(sizes[name], sizes[owner])) \
                and (sizes[name][0] == 1) == (sizes[owner][0] == 1)  # both expand, or neither
            built[name] = build_candidate(name, in_channels, out_channels, stride,
                                          like=built[owner] if inside else None)
    return [built[name] for name in names]


def build_candidate(name: str, in_channels: int, out_channels: int,
                    stride: int, like: Optional[InvertedResidual] = None) -> Mo.Module:
    """Builds the candidate ``name``: an :class:`InvertedResidual` (on the
    weights of ``like``, see there), or :class:`~nnabla_nas.module.Identity`
    for :data:`SKIP`.

    Raises:
        ValueError: For a malformed name, or :data:`SKIP` where the block
            changes the shape.
    """
    if name == SKIP:
        if stride != 1 or in_channels != out_channels:
            raise ValueError(f"'{SKIP}' needs stride 1 and equal channels, got stride "
                             f"{stride} and {in_channels} -> {out_channels} channels")
        return Mo.Identity()
    expansion, kernel = parse_candidate(name)
    return InvertedResidual(in_channels, out_channels, stride, expansion, kernel, like)
