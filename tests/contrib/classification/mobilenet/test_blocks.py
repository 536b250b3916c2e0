"""Tests of the MobileNetV2 blocks: channel rounding, the inverted residual
against a hand-composed nnabla reference, and the candidate builder."""

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.mobilenet.blocks import (
    CANDIDATES, SKIP, ConvBNReLU6, InvertedResidual, build_candidate, make_divisible,
    parse_candidate)

from .conftest import make_input


@pytest.mark.parametrize("value, expected", [
    (32, 32), (32 * 0.25, 8), (16 * 0.35, 8), (24 * 0.5, 16), (96 * 0.35, 32),
    (32 * 1.4, 48), (1280, 1280), (20, 24), (1, 8),
])
def test_make_divisible(value, expected):
    assert make_divisible(value, 8) == expected


def test_candidate_names():
    assert CANDIDATES == ("MB3 3x3", "MB3 5x5", "MB3 7x7", "MB6 3x3", "MB6 5x5", "MB6 7x7")
    assert [parse_candidate(n) for n in ("MB1 3x3", "MB6 7x7")] == [(1, 3), (6, 7)]
    for bad in ("MB6 3x5", "mb6 3x3", "MB6", SKIP):
        with pytest.raises(ValueError, match="is not an inverted-residual name like 'MB6 3x3'"):
            parse_candidate(bad)


def randomize(module, rng):
    """Random weights, BN affine parameters and running statistics."""
    for name, p in module.get_parameters().items():
        d = rng.randn(*p.shape)
        p.d = np.abs(d) + 0.5 if name.endswith("_var") else d


def reference(x, block, training):
    """The inverted residual composed from nnabla.functions and the block's arrays."""
    layers = list(block.conv)
    convs = [m for m in layers if isinstance(m, (Mo.Conv, Mo.DwConv))]
    norms = [m for m in layers if isinstance(m, Mo.BatchNormalization)]

    def bn(h, m):
        return F.batch_normalization(h, m._beta, m._gamma, m._mean, m._var, axes=[1],
                                     decay_rate=0.9, eps=1e-5, batch_stat=training)

    k, s = block.kernel, block.stride
    h = x
    if block.expansion != 1:
        h = F.relu6(bn(F.convolution(h, convs.pop(0)._W), norms.pop(0)))
    h = F.depthwise_convolution(h, convs[0]._W, pad=(k // 2, k // 2), stride=(s, s))
    h = F.relu6(bn(h, norms[0]))
    h = bn(F.convolution(h, convs[1]._W), norms[1])
    return x + h if block.residual else h


@pytest.mark.parametrize("in_c, out_c, stride, expansion, kernel, training, residual", [
    (4, 4, 1, 3, 5, True, True),
    (4, 4, 1, 6, 3, False, True),
    (4, 6, 2, 6, 7, False, False),
    (4, 4, 2, 3, 3, True, False),
    (8, 4, 1, 1, 3, False, False),            # MB1: no expansion convolution
])
def test_inverted_residual_matches_reference(in_c, out_c, stride, expansion, kernel,
                                             training, residual):
    block = InvertedResidual(in_c, out_c, stride, expansion, kernel)
    assert block.residual is residual
    assert block.name == f"MB{expansion} {kernel}x{kernel}"
    randomize(block, np.random.RandomState(1))
    block.apply(training=training)
    x = make_input((2, in_c, 9, 9))
    y, ref = block(x), reference(x, block, training)
    nn.forward_all([y, ref])
    size = (9 + stride - 1) // stride
    assert y.shape == (2, out_c, size, size)
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-4, atol=1e-4)


def test_inverted_residual_parameters():
    params = InvertedResidual(8, 16, 2, 6, 5).get_parameters()
    weights = {k: v.shape for k, v in params.items() if k.endswith("_W")}
    assert weights == {"conv/0/_W": (48, 8, 1, 1), "conv/3/_W": (48, 5, 5),
                       "conv/6/_W": (16, 48, 1, 1)}
    assert not [k for k in params if k.endswith("_b")]           # bias-free convolutions
    assert [params[f"conv/{i}/_gamma"].shape[1] for i in (1, 4, 7)] == [48, 48, 16]
    assert len(InvertedResidual(8, 16, 2, 1, 3).get_parameters()) == 2 + 2 * 4


def test_conv_bn_relu6_is_clipped_and_strided():
    layer = ConvBNReLU6(3, 8, 3, stride=2)
    y = layer(make_input((2, 3, 11, 11)))
    y.forward()
    assert y.shape == (2, 8, 6, 6)
    assert y.d.min() >= 0 and y.d.max() <= 6


def test_build_candidate():
    assert isinstance(build_candidate(SKIP, 8, 8, 1), Mo.Identity)
    block = build_candidate("MB3 7x7", 8, 16, 2)
    assert isinstance(block, InvertedResidual)
    assert (block.expansion, block.kernel, block.stride) == (3, 7, 2)
    with pytest.raises(ValueError, match="'skip' needs stride 1 and equal channels, got "
                                         "stride 2 and 8 -> 8 channels"):
        build_candidate(SKIP, 8, 8, 2)
    with pytest.raises(ValueError, match="'MB6 4x5' is not an inverted-residual name"):
        build_candidate("MB6 4x5", 8, 8, 1)


@pytest.mark.parametrize("stride, names", [
    (1, list(CANDIDATES) + [SKIP]), (2, ["MB3 3x3", "MB6 5x5", "MB3 7x7"])])
def test_shared_kernels_are_parts_of_the_widest_largest_candidate(stride, names):
    """With ``share_kernels`` every inverted residual contained in the widest
    candidate with the largest kernel computes what a separate one holding
    that candidate's first hidden channels and kernel centre computes; one
    that does not fit keeps its own weights."""
    from nnabla_nas.contrib.classification.mobilenet.blocks import build_candidates
    c_out = 8 if stride == 1 else 16
    shared = build_candidates(names, 8, c_out, stride, share_kernels=True)
    plain = build_candidates(names, 8, c_out, stride)
    sizes = {n: parse_candidate(n) for n in names if n != SKIP}
    owner = shared[names.index(max(sizes, key=sizes.get))]
    big = [m for m in owner.conv.modules.values() if isinstance(m, (Mo.Conv, Mo.DwConv))]
    for name, ours, theirs in zip(names, shared, plain):
        if name == SKIP:
            continue
        e, k = sizes[name]
        convs = [m for m in theirs.conv.modules.values() if isinstance(m, (Mo.Conv, Mo.DwConv))]
        if ours is owner or k > owner.kernel:  # weights of its own
            assert ours.get_parameters(grad_only=True)
            mine = [m for m in ours.conv.modules.values() if isinstance(m, (Mo.Conv, Mo.DwConv))]
            for a, b in zip(convs, mine):
                a._W.d = b._W.d
            continue
        assert not [p for n, p in ours.get_parameters(grad_only=True).items() if "_W" in n]
        hidden, cut = 8 * e, (big[1]._kernel[0] - k) // 2
        convs[0]._W.d = big[0]._W.d[:hidden]
        convs[1]._W.d = big[1]._W.d[:hidden, cut:cut + k, cut:cut + k]
        convs[2]._W.d = big[2]._W.d[:, :hidden]
    x = make_input((2, 8, 8, 8))
    for name, a, b in zip(names, shared, plain):
        ya, yb = a(x), b(x)
        nn.forward_all([ya, yb])
        np.testing.assert_allclose(ya.d, yb.d, rtol=1e-4, atol=1e-5, err_msg=name)
