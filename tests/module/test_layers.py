"""Every layer against nnabla's own functions / parametric functions or numpy."""

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import numpy as np
import pytest

from nnabla_nas import module as Mo


def var(*shape, seed=0, need_grad=True):
    v = nn.Variable.from_numpy_array(
        np.random.RandomState(seed).randn(*shape).astype(np.float32))
    v.need_grad = need_grad
    return v


def pf_params(scope, ours):
    """Copies our parameters into nnabla's parameter scope under ``scope``."""
    with nn.parameter_scope(scope):
        for name, p in ours.items():
            nn.parameter.set_parameter(name, p)


def conv2d_numpy(x, w, b, pad, stride, dilation):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride[0]:i * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                       j * stride[1]:j * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out + b.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("pad,stride,dilation,group", [
    ((1, 1), (1, 1), (1, 1), 1), ((0, 0), (2, 2), (1, 1), 1),
    ((2, 2), (1, 1), (2, 2), 1), ((1, 1), (1, 1), (1, 1), 2)])
def test_conv(compare, pad, stride, dilation, group):
    x = var(2, 4, 7, 7)
    conv = Mo.Conv(4, 6, (3, 3), pad=pad, stride=stride, dilation=dilation, group=group,
                   rng=np.random.RandomState(1))
    conv._b.d = np.random.RandomState(2).randn(6)
    pf_params("c", {"conv/W": conv._W, "conv/b": conv._b})

    def ref(x):
        with nn.parameter_scope("c"):
            return PF.convolution(x, 6, (3, 3), pad=pad, stride=stride, dilation=dilation,
                                  group=group)
    y = compare(conv, ref, [x], [conv._W, conv._b])
    if group == 1:
        np.testing.assert_allclose(y, conv2d_numpy(x.d, conv._W.d, conv._b.d, pad, stride,
                                                   dilation), rtol=1e-4, atol=1e-4)


def test_conv_options():
    conv = Mo.Conv(3, 5, (1, 1), with_bias=False, fix_parameters=True)
    assert conv._b is None and not conv._W.need_grad
    assert list(conv.get_parameters()) == ["_W"]
    cl = Mo.Conv(3, 5, (3, 3), pad=(1, 1), channel_last=True)
    assert cl._W.shape == (5, 3, 3, 3)
    assert cl(nn.Variable((2, 6, 6, 3))).shape == (2, 6, 6, 5)
    with pytest.raises(ValueError, match="group"):
        Mo.Conv(3, 4, (3, 3), group=2)


def test_dwconv(compare):
    x = var(2, 3, 6, 6)
    dw = Mo.DwConv(3, (3, 3), pad=(1, 1), stride=(2, 2), multiplier=2)
    dw._b.d = np.random.RandomState(3).randn(6)
    pf_params("d", {"depthwise_conv/W": dw._W, "depthwise_conv/b": dw._b})

    def ref(x):
        with nn.parameter_scope("d"):
            return PF.depthwise_convolution(x, (3, 3), pad=(1, 1), stride=(2, 2), multiplier=2)
    y = compare(dw, ref, [x], [dw._W, dw._b])
    assert y.shape == (2, 6, 3, 3)
    # Channel 0 uses only input channel 0: numpy check of one output.
    w = dw._W.d[0]
    xp = np.pad(x.d[0, 0], 1)
    assert np.isclose(y[0, 0, 1, 1], (xp[2:5, 2:5] * w).sum() + dw._b.d[0], atol=1e-5)


def test_linear(compare):
    x = var(3, 2, 2, 2)
    fc = Mo.Linear(8, 5)
    fc._b.d = np.arange(5)
    y = compare(fc, lambda x: F.affine(x, fc._W, fc._b), [x], [fc._W, fc._b])
    np.testing.assert_allclose(y, x.d.reshape(3, 8) @ fc._W.d + fc._b.d, rtol=1e-5, atol=1e-5)
    assert list(Mo.Linear(2, 3, bias=False).get_parameters()) == ["_W"]


@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization(compare, training):
    x = var(4, 3, 5, 5)
    bn = Mo.BatchNormalization(3, 4)
    bn._gamma.d = [[[[1.0]], [[2.0]], [[0.5]]]]
    bn._beta.d = [[[[0.1]], [[-0.2]], [[0.3]]]]
    bn._mean.d = np.full((1, 3, 1, 1), 0.25)
    bn._var.d = np.full((1, 3, 1, 1), 1.5)
    bn.training = training
    mean0, var0 = bn._mean.d.copy(), bn._var.d.copy()
    pf_params("b", {"bn/beta": bn._beta, "bn/gamma": bn._gamma,
                    "bn/mean": bn._mean, "bn/var": bn._var})

    def ref(x):
        with nn.parameter_scope("b"):
            return PF.batch_normalization(x, batch_stat=training)
    # Running statistics move in training; compare against numpy before they do.
    y = bn(x)
    y.forward()
    if training:
        mu = x.d.mean(axis=(0, 2, 3), keepdims=True)
        sigma2 = x.d.var(axis=(0, 2, 3), keepdims=True)
        np.testing.assert_allclose(bn._mean.d, 0.9 * mean0 + 0.1 * mu, rtol=1e-5)
        assert not np.allclose(bn._var.d, var0)
    else:
        mu, sigma2 = mean0, var0
        np.testing.assert_array_equal(bn._mean.d, mean0)
    expect = (x.d - mu) / np.sqrt(sigma2 + 1e-5) * bn._gamma.d + bn._beta.d
    np.testing.assert_allclose(y.d, expect, rtol=1e-4, atol=1e-4)
    compare(bn, ref, [x], [bn._beta, bn._gamma], rtol=1e-4, atol=1e-4)
    assert not bn._mean.need_grad and not bn._var.need_grad


def test_batch_normalization_fixed_and_init():
    bn = Mo.BatchNormalization(2, 2, fix_parameters=True,
                               param_init={"gamma": np.full((1, 2), 3.0, np.float32)})
    assert bn._gamma.shape == (1, 2)
    np.testing.assert_array_equal(bn._gamma.d, [[3, 3]])
    assert list(bn.get_parameters(grad_only=True)) == []


def test_max_pool(compare):
    x = var(2, 2, 6, 6)
    pool = Mo.MaxPool((2, 2), stride=(2, 2))
    y = compare(pool, lambda x: F.max_pooling(x, (2, 2), (2, 2)), [x])
    np.testing.assert_allclose(y, x.d.reshape(2, 2, 3, 2, 3, 2).max(axis=(3, 5)))
    assert Mo.MaxPool((3, 3), (1, 1), (1, 1))(x).shape == (2, 2, 6, 6)


def test_avg_pool(compare):
    x = var(2, 2, 6, 6)
    y = compare(Mo.AvgPool((2, 2)), lambda x: F.average_pooling(x, (2, 2)), [x])
    np.testing.assert_allclose(y, x.d.reshape(2, 2, 3, 2, 3, 2).mean(axis=(3, 5)), rtol=1e-5)
    # Without padding in the count, the corner average has 4 terms, not 9.
    pool = Mo.AvgPool((3, 3), (1, 1), (1, 1), including_pad=False)
    out = pool(x)
    out.forward()
    np.testing.assert_allclose(out.d[:, :, 0, 0], x.d[:, :, :2, :2].mean(axis=(2, 3)), rtol=1e-5)


def test_global_avg_pool(compare):
    x = var(2, 3, 4, 5)
    y = compare(Mo.GlobalAvgPool(), F.global_average_pooling, [x])
    np.testing.assert_allclose(y[..., 0, 0], x.d.mean(axis=(2, 3)), rtol=1e-5)


@pytest.mark.parametrize("module,ref", [
    (Mo.ReLU(), lambda a: np.maximum(a, 0)),
    (Mo.ReLU6(), lambda a: np.clip(a, 0, 6)),
    (Mo.LeakyReLU(0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
])
def test_activations(compare, module, ref):
    x = var(3, 4, seed=5)
    x.d *= 5
    fn = {Mo.ReLU: F.relu, Mo.ReLU6: F.relu6}.get(type(module), lambda v: F.leaky_relu(v, 0.2))
    y = compare(module, fn, [x])
    np.testing.assert_allclose(y, ref(x.d), rtol=1e-6)


@pytest.mark.parametrize("no_grad", [False, True])
def test_relu_is_bit_identical_to_nnabla_relu(no_grad):
    """Mo.ReLU uses F.relu, or the faster maximum_scalar kernel inside nn.no_grad():
    the same bits either way, forward and backward."""
    special = np.array([-0.0, 0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3.5, -3.5],
                       np.float32)
    data = np.concatenate([special, np.random.RandomState(0).randn(4000).astype(np.float32)])
    grad = np.random.RandomState(1).randn(data.size).astype(np.float32)
    results, kinds = [], []
    for fn in (Mo.ReLU(), F.relu):
        x = nn.Variable.from_numpy_array(data, need_grad=True)
        x.grad.zero()
        with nn.no_grad(no_grad):
            y = fn(x)
        kinds.append(y.parent.info.type_name)
        y.forward()
        y.backward(grad)
        results.append((y.d.tobytes(), x.g.tobytes()))
    assert kinds == ["MaximumScalar" if no_grad else "ReLU", "ReLU"]
    assert results[0][0] == results[1][0]  # forward, bit for bit (sign of zero, NaN)
    assert results[0][1] == results[1][1]  # backward


def test_relu_for_training_frees_its_input_after_forward():
    """Outside no_grad the ReLU's backward needs only its output, so the
    convolution output feeding it is freed by forward(clear_no_need_grad=True)."""
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(2, 3, 4, 4).astype(np.float32))
    conv1, conv2 = Mo.Conv(3, 3, (3, 3), pad=(1, 1)), Mo.Conv(3, 3, (3, 3), pad=(1, 1))
    h = conv1(x)
    loss = F.sum(conv2(Mo.ReLU()(h)))
    loss.forward(clear_no_need_grad=True)
    assert h.data.clear_called


def test_dropout():
    x = nn.Variable.from_numpy_array(np.ones((200, 50), np.float32))
    drop = Mo.Dropout(0.3)
    y = drop(x)
    y.forward()
    kept = y.d != 0
    assert 0.25 < 1 - kept.mean() < 0.35
    np.testing.assert_allclose(y.d[kept], 1 / 0.7, rtol=1e-6)
    drop.training = False
    assert drop(x) is x
    with pytest.raises(ValueError, match="drop_prob"):
        Mo.Dropout(1.0)


def test_dropout_masks_come_from_its_random_state():
    """A restored ``rng`` redraws the same masks in an already built graph."""
    x = nn.Variable.from_numpy_array(np.ones((20, 30), np.float32))
    drop = Mo.Dropout(0.5, rng=np.random.RandomState(4))
    y = drop(x)
    state = drop.rng.get_state()
    y.forward()
    first = y.d.copy()
    y.forward()
    assert not np.array_equal(first, y.d)
    drop.rng.set_state(state)
    y.forward()
    np.testing.assert_array_equal(first, y.d)


def test_identity():
    x = var(2, 3)
    assert Mo.Identity()(x) is x


@pytest.mark.parametrize("stride,shape", [((1, 1), (2, 3, 5, 5)), ((2, 2), (2, 3, 3, 3))])
def test_zero(stride, shape):
    x = var(2, 3, 5, 5)
    y = Mo.Zero(stride)(x)
    y.forward()
    assert y.shape == shape
    np.testing.assert_array_equal(y.d, np.zeros(shape))


def test_merging(compare):
    a, b = var(2, 3, 4, 4, seed=1), var(2, 3, 4, 4, seed=2)
    y = compare(Mo.Merging("concat"), lambda a, b: F.concatenate(a, b, axis=1), [a, b])
    np.testing.assert_array_equal(y, np.concatenate([a.d, b.d], axis=1))
    y = compare(Mo.Merging("add"), F.add2, [a, b])
    np.testing.assert_allclose(y, a.d + b.d, rtol=1e-6)
    y = compare(Mo.Merging("mul"), F.mul2, [a, b])
    np.testing.assert_allclose(y, a.d * b.d, rtol=1e-6)
    with pytest.raises(ValueError, match="concat, add, mul"):
        Mo.Merging("max")


def test_lambda():
    x = var(2, 3)
    y = Mo.Lambda(lambda v: v * 2)(x)
    y.forward()
    np.testing.assert_allclose(y.d, 2 * x.d)
    with pytest.raises(TypeError, match="callable"):
        Mo.Lambda(3)
