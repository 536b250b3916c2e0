"""`SharedKernel`: a convolution on the weights of another, or on their centre
(Single-Path NAS' superkernel).

References:
    Stamoulis, Ding, Wang, Lymberopoulos, Priyantha, Liu, Marculescu.
    Single-Path NAS: Designing Hardware-Efficient ConvNets in less than 4
    Hours. ECML-PKDD 2019 (arXiv:1904.02877).
"""

from typing import Optional, Sequence

import nnabla.functions as F
import numpy as np

from .convolution import Conv, DwConv, _tuple
from .module import Module


class SharedKernel(Module):
    """A convolution that uses the weights of another :class:`~.convolution.Conv`
    or :class:`~.convolution.DwConv` (its *owner*), or a part of them: the
    centre of the kernel (Single-Path NAS' superkernel: a 3x3 candidate
    convolves with the central 3x3 of a 5x5 candidate's kernel) and the first
    channels (a candidate with fewer hidden channels uses the first ones of a
    wider candidate's, as Single-Path NAS does for expansion ratios), so that
    the candidates train the same weights.

    The weights stay the owner's parameters, registered, saved and updated
    under the owner's name only: this module has no parameters of its own. A
    :class:`~nnabla_nas.module.MixedOp` that draws an operator containing it
    also marks the operator containing the owner as trained (see
    :meth:`~nnabla_nas.module.MixedOp.lenders`).

    Args:
        owner: The convolution whose weights are used (no bias supported).
        kernel: Spatial kernel of this convolution, at most the owner's, with
            the same parity on each axis; None for the owner's.
        pad: Padding per spatial axis (default the owner's).
        stride: Stride per spatial axis (default the owner's).
        dilation: Dilation per spatial axis (default the owner's).
        in_channels: Input channels, the first ones of the owner's (default
            all). A depthwise owner has as many outputs as inputs (times its
            multiplier).
        out_channels: Output channels of a :class:`~.convolution.Conv` owner,
            its first ones (default all).

    Raises:
        ValueError: If the owner has a bias or groups, or the part asked for
            is not inside the owner's weights.
    """

    def __init__(self, owner: Module, kernel: Optional[Sequence[int]] = None, pad=None,
                 stride=None, dilation=None, in_channels: Optional[int] = None,
                 out_channels: Optional[int] = None):
        if not isinstance(owner, (Conv, DwConv)) or owner._b is not None or \
                getattr(owner, "_group", 1) != 1 or getattr(owner, "_channel_last", False):
            raise ValueError("SharedKernel needs a Conv (one group, channels first) or "
                             "DwConv without bias as its owner")
        full = tuple(owner._kernel)
        kernel = full if kernel is None else tuple(kernel)
        if len(kernel) != len(full) or any(k > f or (f - k) % 2 for k, f in zip(kernel, full)):
            raise ValueError(f"kernel {kernel} is not a centred part of the owner's {full}")
        in_channels = owner._in_channels if in_channels is None else int(in_channels)
        if isinstance(owner, DwConv):
            if out_channels is not None:
                raise ValueError("a depthwise SharedKernel takes in_channels only")
            channels = (in_channels * owner._multiplier,)
        else:
            out_channels = owner._out_channels if out_channels is None else int(out_channels)
            channels = (out_channels, in_channels)
        if any(not 0 < c <= f for c, f in zip(channels, owner._W.shape)):
            raise ValueError(f"channels {channels} are not a part of the owner's "
                             f"{tuple(owner._W.shape[:len(channels)])}")
        self.__dict__["_owner"] = owner  # not registered: the owner holds the weights
        self._kernel, self._in_channels = kernel, in_channels
        # The part of the owner's weight read: first channels, centred kernel.
        self._window = tuple(slice(0, c) for c in channels) + tuple(
            slice((f - k) // 2, (f - k) // 2 + k) for k, f in zip(kernel, full))
        self._pad = owner._pad if pad is None else _tuple(pad, len(kernel), 0)
        self._stride = owner._stride if stride is None else _tuple(stride, len(kernel), 1)
        self._dilation = owner._dilation if dilation is None else _tuple(dilation, len(kernel), 1)

    @property
    def owner(self) -> Module:
        """The convolution whose weights this one uses."""
        return self.__dict__["_owner"]

    @property
    def weight_shape(self) -> tuple:
        """Shape of the weights this convolution reads."""
        return tuple(part.stop - part.start for part in self._window)

    @property
    def weight_size(self) -> int:
        """Number of weight elements this convolution reads (what a network
        with its own weights of this shape would hold)."""
        return int(np.prod(self.weight_shape))

    def standalone(self, weights: bool = True) -> Module:
        """The convolution a network without sharing holds in this one's place
        (same geometry, weights of its own, a copy of those this one reads
        unless ``weights`` is False), with this one's last input shapes.
        Latency estimators key and time this one, so a latency table serves
        shared and separate kernels alike. A new module at each call, except
        while :attr:`detached` (an export's graph uses it): then one, kept
        until ``detached`` is unset, so that no copy of the weights outlives
        the export."""
        conv = self.__dict__.get("_standalone")
        if conv is None:
            conv = self._new_standalone()
            if self.detached:
                self.__dict__["_standalone"] = conv
        if weights:
            conv._W.d = self.owner._W.d[self._window]
        conv.input_shapes = self.input_shapes
        conv.training = self.training
        return conv

    def _new_standalone(self) -> Module:
        owner = self.owner
        geometry = dict(pad=self._pad, stride=self._stride, dilation=self._dilation,
                        with_bias=False)
        if isinstance(owner, DwConv):
            conv = DwConv(self._in_channels, self._kernel, multiplier=owner._multiplier,
                          base_axis=owner._base_axis, **geometry)
        else:
            conv = Conv(self._in_channels, self.weight_shape[0], self._kernel,
                        base_axis=owner._base_axis, **geometry)
        return conv

    def weight(self):
        """The owner's weight Variable, or the part of it this one reads
        (differentiable)."""
        w = self.owner._W
        if self.weight_shape == tuple(w.shape):
            return w
        return F.slice(w, start=tuple(part.start for part in self._window),
                       stop=tuple(part.stop for part in self._window))

    @property
    def detached(self) -> bool:
        """Whether calls run :meth:`standalone` (a copy of the weights read)
        instead of the owner's weights: set for an export, whose graph must
        hold the weights the network found holds, not another candidate's."""
        return self.__dict__.get("_detached", False)

    @detached.setter
    def detached(self, flag: bool) -> None:
        self.__dict__["_detached"] = bool(flag)
        if not flag:
            self.__dict__.pop("_standalone", None)

    def call(self, input):
        if self.detached:
            return self.standalone()(input)
        owner = self.owner
        if isinstance(owner, DwConv):
            return F.depthwise_convolution(input, self.weight(), None,
                                           base_axis=owner._base_axis, pad=self._pad,
                                           stride=self._stride, dilation=self._dilation,
                                           multiplier=owner._multiplier)
        return F.convolution(input, self.weight(), None, base_axis=owner._base_axis,
                             pad=self._pad, stride=self._stride, dilation=self._dilation)

    def extra_repr(self) -> str:
        return (f"owner={type(self.owner).__name__}{tuple(self.owner._W.shape)}, "
                f"weight={self.weight_shape}, stride={self._stride}, pad={self._pad}, "
                f"dilation={self._dilation}")
