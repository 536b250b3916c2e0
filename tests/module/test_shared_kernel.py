"""`SharedKernel`: a convolution on another's weights or their centre."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.module import SharedKernel

from .test_layers import var


def test_full_kernel_is_the_owner_itself():
    x = var(2, 4, 5, 5)
    owner = Mo.Conv(4, 6, (1, 1), with_bias=False)
    view = SharedKernel(owner)
    a, b = view(x), owner(x)
    nn.forward_all([a, b])
    np.testing.assert_array_equal(a.d, b.d)
    assert view.get_parameters() == {} and view.weight_size == 24


@pytest.mark.parametrize("case", ["dilated centre", "first channels", "pointwise"])
def test_a_part_of_the_owners_weights_matches_a_copy(case):
    """A convolution on the centre of another's kernel (and/or its first
    channels) computes what a separate copy of that part does, and its
    gradient reaches that part of the owner's weights only."""
    if case == "dilated centre":
        owner = Mo.DwConv(4, (5, 5), pad=(2, 2), with_bias=False)
        view = SharedKernel(owner, (3, 3), pad=(2, 2), stride=(2, 2), dilation=(2, 2))
        copy = Mo.DwConv(4, (3, 3), pad=(2, 2), stride=(2, 2), dilation=(2, 2), with_bias=False)
        part = (slice(0, 4), slice(1, 4), slice(1, 4))
    elif case == "first channels":
        owner = Mo.DwConv(8, (5, 5), pad=(2, 2), with_bias=False)
        view = SharedKernel(owner, (3, 3), pad=(1, 1), stride=(2, 2), in_channels=4)
        copy = Mo.DwConv(4, (3, 3), pad=(1, 1), stride=(2, 2), with_bias=False)
        part = (slice(0, 4), slice(1, 4), slice(1, 4))
    else:
        owner = Mo.Conv(6, 8, (3, 3), pad=(1, 1), with_bias=False)
        view = SharedKernel(owner, (1, 1), pad=(0, 0), in_channels=4, out_channels=5)
        copy = Mo.Conv(4, 5, (1, 1), with_bias=False)
        part = (slice(0, 5), slice(0, 4), slice(1, 2), slice(1, 2))
    copy._W.d = owner._W.d[part]
    x = var(2, 4, 7, 7)
    y, ref = view(x), copy(x)
    nn.forward_all([y, ref])
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-6)
    dy = np.random.RandomState(2).randn(*y.shape).astype(np.float32)
    owner._W.grad.zero()
    copy._W.grad.zero()
    y.backward(dy)
    ref.backward(dy)
    np.testing.assert_allclose(owner._W.g[part], copy._W.g, rtol=1e-5, atol=1e-6)
    rest = owner._W.g.copy()
    rest[part] = 0
    assert not rest.any() and np.abs(copy._W.g).sum() > 0
    assert view.weight_size == copy._W.size and view.get_parameters() == {}
    np.testing.assert_array_equal(view.standalone()._W.d, copy._W.d)


def test_bad_owners_and_parts():
    with pytest.raises(ValueError, match="without bias"):
        SharedKernel(Mo.Conv(3, 3, (3, 3)))
    with pytest.raises(ValueError, match="one group"):
        SharedKernel(Mo.Conv(4, 4, (3, 3), group=2, with_bias=False))
    owner = Mo.DwConv(3, (5, 5), with_bias=False)
    for kernel in ((7, 7), (4, 4), (3,)):
        with pytest.raises(ValueError, match="centred part"):
            SharedKernel(owner, kernel)
    with pytest.raises(ValueError, match="not a part"):
        SharedKernel(owner, in_channels=4)
    with pytest.raises(ValueError, match="in_channels only"):
        SharedKernel(owner, out_channels=2)
    with pytest.raises(ValueError, match="not a part"):
        SharedKernel(Mo.Conv(3, 5, (1, 1), with_bias=False), out_channels=6)
    assert SharedKernel(owner, (3, 3)).weight_size == 27


def test_drawing_the_borrower_trains_the_owner_under_its_own_name():
    """Drawing the borrower trains the owner's kernel (under the owner's name)
    and not the owner's batch normalization, which its graph does not use;
    drawing the owner trains both; every mode change puts things back."""
    owner = Mo.Sequential(Mo.DwConv(2, (5, 5), pad=(2, 2), with_bias=False),
                          Mo.BatchNormalization(2, 4))
    borrower = Mo.Sequential(SharedKernel(owner[0], (3, 3), pad=(1, 1)))
    other = Mo.Sequential(Mo.DwConv(2, (3, 3), pad=(1, 1), with_bias=False))
    mixed = Mo.MixedOp([borrower, owner, other], mode="sample")
    assert mixed.lenders() == [(0, 1), (1,), (2,)]
    names = {0: ["_ops/1/0/_W"], 1: ["_ops/1/0/_W", "_ops/1/1/_beta", "_ops/1/1/_gamma"],
             2: ["_ops/2/0/_W"]}
    seen = []
    for step in range(40):
        mixed.mode = "full" if step == 20 else "sample"
        mixed(nn.Variable((1, 2, 6, 6)))
        trained = [n for n in mixed.get_parameters(grad_only=True) if n != "_alpha"]
        if step == 20:
            assert trained == names[1] + names[2]
            continue
        seen.append(mixed.active_index)
        assert trained == names[seen[-1]]
    assert set(seen) == {0, 1, 2} and (0, 1) in zip(seen, seen[1:])  # owner after borrower
    # Every weight exists once, under its owner.
    assert sorted(n for n in mixed.get_parameters() if n.endswith("_W")) == \
        ["_ops/1/0/_W", "_ops/2/0/_W"]


def test_latency_estimators_see_the_convolution_it_stands_for():
    """A latency table keys (and times) a SharedKernel as the standalone
    convolution of a network without sharing."""
    from nnabla_nas.utils.estimator import LatencyEstimator
    from nnabla_nas.utils.estimator.table import layer_key

    x = nn.Variable((2, 3, 8, 8))
    owner = Mo.DwConv(3, (5, 5), pad=(2, 2), with_bias=False)
    view = SharedKernel(owner, (3, 3), pad=(2, 2), stride=(2, 2), dilation=(2, 2))
    plain = Mo.DwConv(3, (3, 3), pad=(2, 2), stride=(2, 2), dilation=(2, 2), with_bias=False)
    view(x), plain(x)
    alone = view.standalone()
    assert layer_key(alone, "cpu", 1) == layer_key(plain, "cpu", 1)
    np.testing.assert_array_equal(alone._W.d, owner._W.d[:, 1:4, 1:4])
    pointwise = SharedKernel(Mo.Conv(3, 4, (1, 1), with_bias=False))
    separate = Mo.Conv(3, 4, (1, 1), with_bias=False)
    pointwise(x), separate(x)
    assert layer_key(pointwise.standalone(), "cpu", 1) == layer_key(separate, "cpu", 1)
    est = LatencyEstimator(n_run=1)
    est.layer_latency(view)
    assert [k[1] for k in est.latencies] == ["DwConv"]
