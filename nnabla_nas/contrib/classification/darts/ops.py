"""The DARTS candidate operations and the blocks they are made of.

Every candidate maps ``(N, C, H, W)`` to ``(N, C, H, W)`` at stride 1 and to
``(N, C, ceil(H/2), ceil(W/2))`` at stride 2. Convolutions are ReLU-conv-BN
blocks. In the search network (``search=True``) batch normalization has no
affine parameters (``fix_parameters=True``) and, as in DARTS'
``model_search.py``, the pooling candidates are followed by one; the train
network uses affine batch normalization and bare pooling.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

from typing import Callable, List, Optional

import nnabla.functions as F

from .... import module as Mo
from ....utils.registry import Registry

#: Candidate operation names, in MixedOp index order.
CANDIDATES = ("dil_conv_3x3", "dil_conv_5x5", "sep_conv_3x3", "sep_conv_5x5",
              "max_pool_3x3", "avg_pool_3x3", "skip_connect", "none")

def batch_norm(channels: int, affine: bool) -> Mo.BatchNormalization:
    """Batch normalization over the channels of an NCHW input; ``affine=False``
    fixes ``_beta``/``_gamma`` at 0/1 (``fix_parameters=True``)."""
    return Mo.BatchNormalization(channels, 4, fix_parameters=not affine)


class SharedReLU(Mo.ReLU):
    """A ReLU that several operations reading the same state call: within one
    graph build it computes ``relu(x)`` once per input Variable and hands the
    same output to every caller.

    The numbers are those of separate ReLUs (their gradients are summed
    before the ReLU's backward instead of after); the graph has one ReLU
    and one buffer per state instead of one per convolution that reads it.

    The owner calls :meth:`forget` when its build is over: the remembered
    Variables would otherwise keep the whole graph above them alive (its
    functions' work buffers, and activations not yet freed) after the caller
    has dropped it.
    """

    def call(self, input):
        cached = self.__dict__.get("_cached")
        if cached is not None and cached[0] is input:
            return cached[1]
        output = super().call(input)
        self.__dict__["_cached"] = (input, output)
        return output

    def forget(self) -> None:
        """Drops the remembered input and output Variables."""
        self.__dict__["_cached"] = None


class ReLUConvBN(Mo.Sequential):
    """ReLU, bias-free ``kernel x kernel`` convolution, batch normalization.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel: Square kernel size.
        stride: Stride.
        pad: Padding on each side.
        affine: Batch normalization with trainable ``_beta``/``_gamma``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1,
                 stride: int = 1, pad: int = 0, affine: bool = True):
        super().__init__(
            Mo.ReLU(),
            Mo.Conv(in_channels, out_channels, (kernel, kernel), pad=(pad, pad),
                    stride=(stride, stride), with_bias=False),
            batch_norm(out_channels, affine))


class DilConv(Mo.Sequential):
    """ReLU, depthwise (dilated) convolution, pointwise convolution, batch norm.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel: Square kernel size of the depthwise convolution.
        stride: Stride of the depthwise convolution.
        pad: Padding on each side.
        dilation: Dilation of the depthwise convolution.
        affine: Batch normalization with trainable ``_beta``/``_gamma``.
        relu: The leading ReLU module (a :class:`SharedReLU` of the input
            state in the search network); a new one when None.
        like: A :class:`DilConv` with a kernel at least as large whose weights
            this one uses (its depthwise kernel's centre and its pointwise
            convolution, :class:`~nnabla_nas.module.SharedKernel`);
            None for weights of its own. Batch normalization is never shared.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 pad: int, dilation: int = 1, affine: bool = True,
                 relu: Optional[Mo.ReLU] = None, like: Optional["DilConv"] = None):
        geometry = dict(pad=(pad, pad), stride=(stride, stride), dilation=(dilation, dilation))
        if like is None:
            depthwise = Mo.DwConv(in_channels, (kernel, kernel), with_bias=False, **geometry)
            pointwise = Mo.Conv(in_channels, out_channels, (1, 1), with_bias=False)
        else:
            depthwise = Mo.SharedKernel(like[1], (kernel, kernel), **geometry)
            pointwise = Mo.SharedKernel(like[2])
        super().__init__(relu or Mo.ReLU(), depthwise, pointwise,
                         batch_norm(out_channels, affine))


class SepConv(Mo.Sequential):
    """Separable convolution: two stacked :class:`DilConv` without dilation,
    the first one strided.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel: Square kernel size.
        stride: Stride of the first depthwise convolution.
        pad: Padding on each side.
        affine: Batch normalization with trainable ``_beta``/``_gamma``.
        relu: The leading ReLU of the first block (see :class:`DilConv`).
        like: A :class:`SepConv` with a kernel at least as large whose
            convolution weights this one uses (see :class:`DilConv`).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 pad: int, affine: bool = True, relu: Optional[Mo.ReLU] = None,
                 like: Optional["SepConv"] = None):
        super().__init__(
            DilConv(in_channels, in_channels, kernel, stride, pad, 1, affine, relu,
                    like=None if like is None else like[0]),
            DilConv(in_channels, out_channels, kernel, 1, pad, 1, affine,
                    like=None if like is None else like[1]))


class FactorizedReduce(Mo.Module):
    """Halves the resolution without losing pixels: ReLU, then two stride-2
    1x1 convolutions, one on the input and one on the input shifted by one
    pixel, concatenated along channels, then batch normalization.

    The shifted input is zero-padded at the bottom/right, so any ``H, W``
    (odd ones too) gives ``ceil(H/2), ceil(W/2)``; for even sizes this is
    DARTS' ``x[:, :, 1:, 1:]``.

    A stride-2 1x1 convolution of the shifted input reads the pixels
    ``(2i+1, 2j+1)``; the second branch takes exactly those with one strided
    slice and convolves them with stride 1 (same numbers, bit for bit; nnabla's
    ``pad`` alone cost more than the rest of this module on CPU). Only odd
    sizes pad, and only the small sliced tensor.

    Args:
        in_channels: Input channels.
        out_channels: Output channels (the two halves get ``out // 2`` and the rest).
        affine: Batch normalization with trainable ``_beta``/``_gamma``.
    """

    def __init__(self, in_channels: int, out_channels: int, affine: bool = True):
        half = out_channels // 2
        if half == 0:
            raise ValueError(f"FactorizedReduce needs out_channels >= 2, got {out_channels}")
        self._relu = Mo.ReLU()
        self._conv_1 = Mo.Conv(in_channels, half, (1, 1), stride=(2, 2), with_bias=False)
        self._conv_2 = Mo.Conv(in_channels, out_channels - half, (1, 1), with_bias=False)
        self._bn = batch_norm(out_channels, affine)

    def call(self, input):
        x = self._relu(input)
        height, width = x.shape[2:]
        odd = (0, height % 2, 0, width % 2)
        # The spatial axes only: a stop on the batch axis would fix the batch
        # size of a saved graph (NNP files leave it variable).
        shifted = F.slice(x, start=(1, 1), stop=(height, width), step=(2, 2))
        if any(odd):
            shifted = F.pad(shifted, odd)
        return self._bn(F.concatenate(self._conv_1(x), self._conv_2(shifted), axis=1))


def _pool(pool: Callable[[int], Mo.Module]) -> Callable[[int, int, bool], Mo.Module]:
    def build(channels: int, stride: int, search: bool) -> Mo.Module:
        op = pool(stride)
        return Mo.Sequential(op, batch_norm(channels, affine=False)) if search else op
    return build


#: Name -> builder ``(channels, stride, search) -> Module``.
OPS = Registry("DARTS operation", {
    "dil_conv_3x3": lambda c, s, search, relu=None, like=None: DilConv(
        c, c, 3, s, 2, 2, not search, relu, like),
    "dil_conv_5x5": lambda c, s, search, relu=None, like=None: DilConv(
        c, c, 5, s, 4, 2, not search, relu, like),
    "sep_conv_3x3": lambda c, s, search, relu=None, like=None: SepConv(
        c, c, 3, s, 1, not search, relu, like),
    "sep_conv_5x5": lambda c, s, search, relu=None, like=None: SepConv(
        c, c, 5, s, 2, not search, relu, like),
    "max_pool_3x3": _pool(lambda s: Mo.MaxPool((3, 3), stride=(s, s), pad=(1, 1))),
    "avg_pool_3x3": _pool(lambda s: Mo.AvgPool((3, 3), stride=(s, s), pad=(1, 1),
                                               including_pad=False)),
    "skip_connect": lambda c, s, search: (
        Mo.Identity() if s == 1 else FactorizedReduce(c, c, not search)),
    "none": lambda c, s, search: Mo.Zero(stride=(s, s)),
})
assert tuple(OPS.names()) == tuple(sorted(CANDIDATES)), "CANDIDATES and OPS disagree"


#: Candidates that start with a ReLU of their input and can share it.
SHARES_RELU = ("dil_conv_3x3", "dil_conv_5x5", "sep_conv_3x3", "sep_conv_5x5")


def build_op(name: str, channels: int, stride: int, search: bool,
             relu: Optional[Mo.ReLU] = None, like: Optional[Mo.Module] = None) -> Mo.Module:
    """Builds the candidate ``name``.

    Args:
        name: One of :data:`CANDIDATES`.
        channels: Input and output channels.
        stride: 1, or 2 in a reduction cell's edges from the cell inputs.
        search: Search-network variant (non-affine batch norm, pooling + batch norm).
        relu: For the convolutions, the leading ReLU to use (a
            :class:`SharedReLU` shared by every operation reading the same state).
        like: For the convolutions, a candidate of the same kind with a kernel
            at least as large whose weights this one uses (see :class:`DilConv`).

    Raises:
        ValueError: For an unknown name (the message lists the valid ones).
    """
    build = OPS.get(name)
    if name not in SHARES_RELU:
        return build(channels, stride, search)
    return build(channels, stride, search, relu=relu, like=like)


#: With ``share_kernels``, candidate -> the candidate whose weights it uses
#: (the centre of its depthwise kernels, its pointwise convolutions).
KERNEL_OWNERS = {"dil_conv_3x3": "dil_conv_5x5", "sep_conv_3x3": "sep_conv_5x5"}


def build_candidates(channels: int, stride: int, search: bool,
                     relu: Optional[Mo.ReLU] = None,
                     share_kernels: bool = False) -> List[Mo.Module]:
    """Builds every candidate of :data:`CANDIDATES`, in that order.

    Args:
        channels, stride, search, relu: As :func:`build_op`.
        share_kernels: The 3x3 convolutions use the weights of the 5x5 ones of
            the same kind (:data:`KERNEL_OWNERS`; Single-Path NAS' superkernel),
            so that drawing either trains both. Meant for sampled paths; in
            ``full`` mode the two sizes' terms then read the same weights and
            their gradients add up in them.
    """
    if not share_kernels:
        return [build_op(name, channels, stride, search, relu) for name in CANDIDATES]
    built = {}
    for name in sorted(CANDIDATES, key=lambda n: n in KERNEL_OWNERS):  # owners first
        built[name] = build_op(name, channels, stride, search, relu,
                               like=built.get(KERNEL_OWNERS.get(name)))
    return [built[name] for name in CANDIDATES]
