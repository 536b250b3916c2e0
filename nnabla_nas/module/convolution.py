"""Convolutions: `Conv` and `DwConv` (depthwise)."""

from typing import Optional, Sequence

import nnabla.functions as F
import nnabla.initializer as I
import numpy as np

from .module import Module
from .parameter import Parameter


def _tuple(value, ndim: int, default: int):
    if value is None:
        return (default,) * ndim
    if isinstance(value, int):
        return (value,) * ndim
    return tuple(value)


class Conv(Module):
    """N-D convolution, as :func:`nnabla.parametric_functions.convolution`.

    Args:
        in_channels: Number of input channels.
        out_channels: Number of output channels (nnabla's ``outmaps``).
        kernel: Kernel shape, e.g. ``(3, 3)``.
        pad: Padding per spatial axis (default zeros).
        stride: Stride per spatial axis (default ones).
        dilation: Dilation per spatial axis (default ones).
        group: Number of channel groups.
        w_init: Weight initializer (default Glorot uniform, as nnabla).
        b_init: Bias initializer (default zeros).
        base_axis: Axes before it are batch axes.
        fix_parameters: Parameters get ``need_grad=False``.
        rng: Random state for the default weight initializer.
        with_bias: Whether to add a bias ``_b``.
        channel_last: Inputs are NHWC instead of NCHW.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: Sequence[int],
                 pad=None, stride=None, dilation=None, group: int = 1, w_init=None,
                 b_init=None, base_axis: int = 1, fix_parameters: bool = False,
                 rng: Optional[np.random.RandomState] = None, with_bias: bool = True,
                 channel_last: bool = False):
        kernel = tuple(kernel)
        if in_channels % group or out_channels % group:
            raise ValueError(f"in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by group ({group})")
        if w_init is None:
            w_init = I.UniformInitializer(
                I.calc_uniform_lim_glorot(in_channels, out_channels, kernel), rng=rng)
        w_shape = ((out_channels,) + kernel + (in_channels // group,) if channel_last
                   else (out_channels, in_channels // group) + kernel)
        self._W = Parameter(w_shape, need_grad=not fix_parameters, initializer=w_init)
        self._b = None
        if with_bias:
            self._b = Parameter((out_channels,), need_grad=not fix_parameters,
                                initializer=b_init)
        self._in_channels, self._out_channels = in_channels, out_channels
        self._kernel = kernel
        self._pad = _tuple(pad, len(kernel), 0)
        self._stride = _tuple(stride, len(kernel), 1)
        self._dilation = _tuple(dilation, len(kernel), 1)
        self._group, self._base_axis = group, base_axis
        self._channel_last = channel_last

    def call(self, input):
        return F.convolution(input, self._W, self._b, base_axis=self._base_axis,
                             pad=self._pad, stride=self._stride, dilation=self._dilation,
                             group=self._group, channel_last=self._channel_last)

    def extra_repr(self) -> str:
        return (f"in_channels={self._in_channels}, out_channels={self._out_channels}, "
                f"kernel={self._kernel}, stride={self._stride}, pad={self._pad}, "
                f"dilation={self._dilation}, group={self._group}, "
                f"with_bias={self._b is not None}")


class DwConv(Module):
    """Depthwise convolution, as :func:`nnabla.parametric_functions.depthwise_convolution`.

    Args:
        in_channels: Number of input channels.
        kernel: Kernel shape.
        pad: Padding per spatial axis (default zeros).
        stride: Stride per spatial axis (default ones).
        dilation: Dilation per spatial axis (default ones).
        multiplier: Output channels per input channel.
        w_init: Weight initializer (default Glorot uniform, as nnabla).
        b_init: Bias initializer (default zeros).
        base_axis: Axes before it are batch axes.
        fix_parameters: Parameters get ``need_grad=False``.
        rng: Random state for the default weight initializer.
        with_bias: Whether to add a bias ``_b``.
    """

    def __init__(self, in_channels: int, kernel: Sequence[int], pad=None, stride=None,
                 dilation=None, multiplier: int = 1, w_init=None, b_init=None,
                 base_axis: int = 1, fix_parameters: bool = False,
                 rng: Optional[np.random.RandomState] = None, with_bias: bool = True):
        kernel = tuple(kernel)
        if w_init is None:
            w_init = I.UniformInitializer(
                I.calc_uniform_lim_glorot(in_channels, in_channels, kernel), rng=rng)
        self._W = Parameter((in_channels * multiplier,) + kernel,
                            need_grad=not fix_parameters, initializer=w_init)
        self._b = None
        if with_bias:
            self._b = Parameter((in_channels * multiplier,),
                                need_grad=not fix_parameters, initializer=b_init)
        self._in_channels, self._kernel = in_channels, kernel
        self._pad = _tuple(pad, len(kernel), 0)
        self._stride = _tuple(stride, len(kernel), 1)
        self._dilation = _tuple(dilation, len(kernel), 1)
        self._multiplier, self._base_axis = multiplier, base_axis

    def call(self, input):
        return F.depthwise_convolution(input, self._W, self._b, base_axis=self._base_axis,
                                       pad=self._pad, stride=self._stride,
                                       dilation=self._dilation, multiplier=self._multiplier)

    def extra_repr(self) -> str:
        return (f"in_channels={self._in_channels}, kernel={self._kernel}, "
                f"stride={self._stride}, pad={self._pad}, dilation={self._dilation}, "
                f"multiplier={self._multiplier}, with_bias={self._b is not None}")

