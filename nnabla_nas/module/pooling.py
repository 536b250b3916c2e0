"""Pooling: `MaxPool`, `AvgPool` and `GlobalAvgPool`."""

import nnabla.functions as F

from .module import Module


class MaxPool(Module):
    """Max pooling, as :func:`nnabla.functions.max_pooling`.

    Args:
        kernel: Window shape.
        stride: Stride (default: the kernel).
        pad: Padding (default zeros).
        channel_last: Inputs are NHWC.
    """

    def __init__(self, kernel, stride=None, pad=None, channel_last: bool = False):
        self._kernel = tuple(kernel)
        self._stride = None if stride is None else tuple(stride)
        self._pad = None if pad is None else tuple(pad)
        self._channel_last = channel_last

    def call(self, input):
        return F.max_pooling(input, self._kernel, self._stride, ignore_border=True,
                             pad=self._pad, channel_last=self._channel_last)

    def extra_repr(self) -> str:
        return f"kernel={self._kernel}, stride={self._stride}, pad={self._pad}"


class AvgPool(MaxPool):
    """Average pooling, as :func:`nnabla.functions.average_pooling`.

    Args:
        kernel: Window shape.
        stride: Stride (default: the kernel).
        pad: Padding (default zeros).
        channel_last: Inputs are NHWC.
        including_pad: Count padded zeros in the average (nnabla's default);
            the DARTS space sets it False.
    """

    def __init__(self, kernel, stride=None, pad=None, channel_last: bool = False,
                 including_pad: bool = True):
        super().__init__(kernel, stride, pad, channel_last)
        self._including_pad = including_pad

    def call(self, input):
        return F.average_pooling(input, self._kernel, self._stride, ignore_border=True,
                                 pad=self._pad, channel_last=self._channel_last,
                                 including_pad=self._including_pad)


class GlobalAvgPool(Module):
    """Average over all spatial positions: ``(N, C, H, W) -> (N, C, 1, 1)``."""

    def call(self, input):
        return F.global_average_pooling(input)
