"""Tests of the DARTS candidate operations."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.darts import CANDIDATES
from nnabla_nas.contrib.classification.darts.ops import (DilConv, FactorizedReduce, SepConv,
                                                         build_op)

from .conftest import make_input


def test_candidates_in_darts_index_order():
    assert CANDIDATES == ("dil_conv_3x3", "dil_conv_5x5", "sep_conv_3x3", "sep_conv_5x5",
                          "max_pool_3x3", "avg_pool_3x3", "skip_connect", "none")


@pytest.mark.parametrize("name", CANDIDATES)
@pytest.mark.parametrize("search", [True, False])
@pytest.mark.parametrize("size", [8, 7])
def test_shape_kept_at_stride_1_and_halved_at_stride_2(name, search, size):
    x = make_input((2, 4, size, size))
    for stride, out in ((1, size), (2, (size + 1) // 2)):
        y = build_op(name, 4, stride, search)(x)
        if y is not x:
            y.forward()
        assert y.shape == (2, 4, out, out), (name, stride)
        assert np.isfinite(y.d).all()


@pytest.mark.parametrize("name", CANDIDATES)
def test_batch_norm_affine_only_in_train_network(name):
    def bn_grads(search):
        op = build_op(name, 4, 2, search)
        return [m._gamma.need_grad for _, m in op.get_modules()
                if isinstance(m, Mo.BatchNormalization)]
    assert not any(bn_grads(search=True))
    assert all(bn_grads(search=False))
    has_bn = name not in ("none",)
    assert bool(bn_grads(search=True)) == has_bn          # search pools get a BN too
    assert bool(bn_grads(search=False)) == (has_bn and "pool" not in name)


def test_structure_follows_darts():
    assert isinstance(build_op("skip_connect", 4, 1, False), Mo.Identity)
    assert isinstance(build_op("skip_connect", 4, 2, False), FactorizedReduce)
    assert isinstance(build_op("none", 4, 2, False), Mo.Zero)
    dil = build_op("dil_conv_5x5", 4, 1, False)
    assert isinstance(dil, DilConv)
    assert [type(m) for m in dil] == [Mo.ReLU, Mo.DwConv, Mo.Conv, Mo.BatchNormalization]
    assert dil[1]._dilation == (2, 2) and dil[1]._kernel == (5, 5)
    sep = build_op("sep_conv_3x3", 4, 2, False)
    assert isinstance(sep, SepConv) and len(sep) == 2
    assert [m[1]._stride for m in sep] == [(2, 2), (1, 1)]
    assert all(m[1]._dilation == (1, 1) for m in sep)


def test_avg_pool_excludes_padding():
    x = nn.Variable((1, 1, 4, 4))
    x.d = 1.0
    y = build_op("avg_pool_3x3", 1, 1, search=False)(x)
    y.forward()
    np.testing.assert_allclose(y.d, 1.0)       # including the pad, corners would be 4/9


def test_factorized_reduce_matches_numpy():
    op = FactorizedReduce(3, 4, affine=False)
    x = make_input((2, 3, 6, 6))
    y = op(x)
    y.forward()
    relu = np.maximum(x.d, 0)
    w1, w2 = op._conv_1._W.d[:, :, 0, 0], op._conv_2._W.d[:, :, 0, 0]
    a = np.einsum("oc,nchw->nohw", w1, relu[:, :, ::2, ::2])
    b = np.einsum("oc,nchw->nohw", w2, relu[:, :, 1::2, 1::2])
    z = np.concatenate([a, b], axis=1)
    mean, var = z.mean(axis=(0, 2, 3), keepdims=True), z.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y.d, (z - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size", [(8, 8), (7, 5), (6, 9)])
def test_factorized_reduce_equals_padded_stride_two_formulation(size):
    """The strided slice + stride-1 convolution gives the bits of DARTS' shifted,
    padded input + stride-2 convolution, forward and backward (odd sizes too)."""
    import nnabla as nn
    import nnabla.functions as F
    op = FactorizedReduce(3, 5, affine=True)
    rng = np.random.RandomState(3)
    for p in op.get_parameters().values():
        p.d = rng.randn(*p.shape)
    data = rng.randn(2, 3, *size).astype(np.float32)
    grad = rng.randn(2, 5, -(-size[0] // 2), -(-size[1] // 2)).astype(np.float32)

    def reference(x):
        r = F.relu(x)
        shifted = F.slice(F.pad(r, (0, 1, 0, 1)), start=(0, 0, 1, 1),
                          stop=(2, 3, size[0] + 1, size[1] + 1))
        w2 = op._conv_2._W
        z = F.concatenate(op._conv_1(r), F.convolution(shifted, w2, stride=(2, 2)), axis=1)
        return op._bn(z)

    results = []
    for build in (op, reference):
        x = nn.Variable.from_numpy_array(data, need_grad=True)
        params = list(op.get_parameters(grad_only=True).values())
        for v in [x] + params:
            v.grad.zero()
        y = build(x)
        y.forward()
        y.backward(grad)
        results.append([y.d.copy(), x.g.copy()] + [v.g.copy() for v in params])
    assert results[0][0].shape == grad.shape
    for ours, ref in zip(*results):
        np.testing.assert_array_equal(ours, ref)


def test_unknown_op_lists_valid_names():
    with pytest.raises(ValueError, match="sep_conv_7x7.*valid names: avg_pool_3x3"):
        build_op("sep_conv_7x7", 4, 1, False)


def test_shared_relu_computes_once_and_keeps_gradients():
    import nnabla as nn
    import nnabla.functions as F
    import numpy as np
    from nnabla_nas.contrib.classification.darts.ops import SharedReLU, build_op

    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(2, 3, 6, 6))
    x.need_grad = True
    relu = SharedReLU()
    ops = [build_op(n, 3, 1, True, relu=relu) for n in ("dil_conv_3x3", "sep_conv_5x5")]
    plain = [build_op(n, 3, 1, True) for n in ("dil_conv_3x3", "sep_conv_5x5")]
    for a, b in zip(ops, plain):
        b.set_parameters({k: v.d for k, v in a.get_parameters().items()})
    grads = []
    for pair in (ops, plain):
        x.grad.zero()
        loss = F.sum(pair[0](x) * 2) + F.sum(pair[1](x) ** 2)
        loss.forward()
        loss.backward()
        grads.append((float(loss.d), x.g.copy()))
    assert relu(x) is relu(x)
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-6)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-5, atol=1e-6)


def test_search_cell_builds_one_relu_per_state():
    """No two ReLUs read the same Variable: the convolutions of every edge
    reading a state share one (without sharing, 4 per edge read it)."""
    import collections

    import nnabla as nn
    from nnabla_nas.contrib import darts

    net = darts.SearchNet(1, 2, 3, 4, num_choices=2, multiplier=2)
    y = net(nn.Variable((2, 1, 8, 8)))
    readers = collections.Counter()
    y.visit(lambda f: readers.update([id(f.inputs[0])]) if f.info.type_name == "ReLU" else None)
    assert readers and max(readers.values()) == 1


def test_shared_relus_forget_the_build():
    """After a build, no SharedReLU holds a Variable of it (a kept one would keep
    the whole graph above it alive), and the next build computes anew."""
    import nnabla as nn
    import numpy as np
    from nnabla_nas.contrib import darts
    from nnabla_nas.contrib.classification.darts.ops import SharedReLU

    net = darts.SearchNet(1, 2, 3, 4, num_choices=2, multiplier=2)
    relus = [m for _, m in net.get_modules() if isinstance(m, SharedReLU)]
    outputs = []
    for seed in (0, 1):
        x = nn.Variable.from_numpy_array(np.random.RandomState(seed).randn(2, 1, 8, 8))
        y = net(x)
        assert relus and all(r.__dict__.get("_cached") is None for r in relus)
        y.forward()
        outputs.append(y.d.copy())
    assert not np.array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("stride", [1, 2])
def test_shared_kernels_are_the_5x5_candidates_centres(stride):
    """With ``share_kernels`` the 3x3 candidates compute what separate 3x3
    candidates holding the centres of the 5x5 ones' kernels compute, and have
    no weights of their own."""
    import nnabla as nn
    from nnabla_nas.contrib.classification.darts.ops import KERNEL_OWNERS, build_candidates

    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(2, 4, 8, 8))
    shared = build_candidates(4, stride, True, share_kernels=True)
    plain = build_candidates(4, stride, True)
    index = {name: k for k, name in enumerate(CANDIDATES)}
    for name in CANDIDATES:
        ours = shared[index[name]]
        if name in KERNEL_OWNERS:
            assert ours.get_parameters(grad_only=True) == {}  # (batch norm: its own)
            owner = shared[index[KERNEL_OWNERS[name]]].get_parameters()
            plain[index[name]].set_parameters(
                {k: (v.d[:, 1:4, 1:4] if v.d.ndim == 3 else v.d) for k, v in owner.items()})
        else:
            plain[index[name]].set_parameters(
                {k: v.d for k, v in ours.get_parameters().items()})
    for a, b in zip(shared, plain):
        ya, yb = a(x), b(x)
        nn.forward_all([ya, yb])
        np.testing.assert_allclose(ya.d, yb.d, rtol=1e-5, atol=1e-5)
