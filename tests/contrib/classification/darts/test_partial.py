"""Tests of the PC-DARTS pieces: channel shuffle, partial-channel edges, the
options' checks."""

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.darts.ops import CANDIDATES, build_op
from nnabla_nas.contrib.classification.darts.partial import (channel_shuffle,
                                                             check_partial_options,
                                                             partial_edge,
                                                             valid_partial_channels)


def numpy_shuffle(x, groups):
    """Channel ``g * (C // groups) + i`` -> ``i * groups + g``, written out."""
    n, c, h, w = x.shape
    out = np.empty_like(x)
    for g in range(groups):
        for i in range(c // groups):
            out[:, i * groups + g] = x[:, g * (c // groups) + i]
    return out


def numpy_max_pool_2x2(x):
    """2x2 max pooling with stride 2; a last odd row / column pools alone."""
    n, c, h, w = x.shape
    out = np.empty((n, c, (h + 1) // 2, (w + 1) // 2), x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(2, 3))
    return out


@pytest.mark.parametrize("channels, groups", [(8, 4), (8, 2), (6, 3), (4, 1), (4, 4)])
def test_channel_shuffle_matches_numpy(channels, groups):
    data = np.random.RandomState(0).randn(2, channels, 3, 3).astype(np.float32)
    y = channel_shuffle(nn.Variable.from_numpy_array(data), groups)
    y.forward()
    np.testing.assert_array_equal(y.d, numpy_shuffle(data, groups))


def test_channel_shuffle_moves_the_first_group_to_every_kth_channel():
    data = np.arange(8, dtype=np.float32).reshape(1, 8, 1, 1)
    y = channel_shuffle(nn.Variable.from_numpy_array(data), 4)
    y.forward()
    assert y.d.ravel().tolist() == [0, 2, 4, 6, 1, 3, 5, 7]


@pytest.mark.parametrize("stride, size", [(1, 6), (2, 6), (2, 5)])
def test_partial_edge_equals_slice_op_concat_shuffle(stride, size):
    """A MixedOp over all candidates built for C/K channels, on the first C/K
    channels; the rest as is (stride 1) or 2x2 max-pooled (stride 2)."""
    k, c = 4, 8
    data = np.random.RandomState(1).randn(2, c, size, size).astype(np.float32)
    mixed = Mo.MixedOp([build_op(name, c // k, stride, search=True) for name in CANDIDATES])
    mixed.alpha.d = np.random.RandomState(2).randn(*mixed.alpha.shape)
    y = partial_edge(mixed, nn.Variable.from_numpy_array(data), k, stride)
    y.forward()
    # The reference: the same MixedOp on the numpy slice, numpy for the rest.
    op_out = mixed(nn.Variable.from_numpy_array(data[:, :c // k].copy()))
    op_out.forward()
    rest = data[:, c // k:]
    if stride == 2:
        rest = numpy_max_pool_2x2(rest)
    expected = numpy_shuffle(np.concatenate([op_out.d, rest], axis=1), k)
    out_size = -(-size // stride)
    assert y.shape == (2, c, out_size, out_size)
    np.testing.assert_array_equal(y.d, expected)


def test_partial_edge_gradient_reaches_only_the_processed_channels_through_the_op():
    """With a zero operation, the bypassing channels carry the whole gradient and
    the processed ones none."""
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(1, 4, 2, 2), need_grad=True)
    x.grad.zero()
    y = partial_edge(Mo.Zero(), x, 2, 1)
    F.sum(y).forward()
    F.sum(y).backward()
    np.testing.assert_array_equal(x.g[:, :2], 0)
    np.testing.assert_array_equal(x.g[:, 2:], 1)


def test_valid_partial_channels():
    assert valid_partial_channels([16, 32, 64]) == [1, 2, 4, 8, 16]
    assert valid_partial_channels([12, 24]) == [1, 2, 3, 4, 6, 12]
    # A reduction cell's operations need 2 channels at least (FactorizedReduce).
    assert valid_partial_channels([12, 24], [12, 24]) == [1, 2, 3, 4, 6]


@pytest.mark.parametrize("k, edge_norm, mode, message", [
    (3, False, "full", r"^partial_channels must be one of 1, 2, 4, 8 \(a divisor of the nodes' "
                       r"channels 8, 16, 32 with init_channels=8\), got 3$"),
    (0, False, "full", r"partial_channels must be one of 1, 2, 4, 8 .*got 0$"),
    (-2, False, "full", r"partial_channels must be one of .*got -2$"),
    (2.0, False, "full", r"partial_channels must be one of .*got 2.0$"),
    (True, False, "full", r"partial_channels must be one of .*got True$"),
    ("4", False, "full", r"partial_channels must be one of .*got '4'$"),
    (1, "yes", "full", r"^edge_normalization must be true or false, got 'yes'$"),
    (2, False, "sample", r"^partial_channels is a DARTS \(full mode\) option, not for "
                         r"mode='sample'"),
    (1, True, "max", r"^edge_normalization is a DARTS \(full mode\) option, not for mode='max'"),
])
def test_check_partial_options_one_line_errors(k, edge_norm, mode, message):
    with pytest.raises(ValueError, match=message) as err:
        check_partial_options(k, edge_norm, mode, [8, 16, 32], context="init_channels=8")
    assert "\n" not in str(err.value)


def test_plain_options_pass_in_every_mode():
    for mode in ("full", "sample", "max"):
        check_partial_options(1, False, mode, [8, 16, 32])
    check_partial_options(8, True, "full", [8, 16, 32])
