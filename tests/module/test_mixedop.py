import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest
from scipy import stats

from nnabla_nas import module as Mo


def make_ops(rng_seed=0):
    return [Mo.Conv(2, 2, (3, 3), pad=(1, 1), rng=np.random.RandomState(rng_seed)),
            Mo.MaxPool((3, 3), (1, 1), (1, 1)), Mo.Identity(), Mo.Zero()]


def make_input(seed=0):
    x = nn.Variable.from_numpy_array(
        np.random.RandomState(seed).randn(2, 2, 5, 5).astype(np.float32))
    x.need_grad = True
    return x


def softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def test_alpha_created_and_tagged():
    op = Mo.MixedOp(make_ops())
    assert op._alpha.shape == (4, 1, 1, 1, 1) and op._alpha.is_arch
    np.testing.assert_array_equal(op._alpha.d, 0)
    assert "_alpha" in op.parameters
    with pytest.raises(ValueError, match=r"\(4, 1, 1, 1, 1\)"):
        Mo.MixedOp(make_ops(), alpha=Mo.Parameter((3, 1, 1, 1, 1)))
    with pytest.raises(ValueError, match="full, sample, max"):
        Mo.MixedOp(make_ops(), mode="random")


def test_full_mode_matches_numpy_weighted_sum():
    ops = make_ops()
    op = Mo.MixedOp(ops, mode="full")
    alpha = np.array([0.5, -1.0, 2.0, 0.3])
    op._alpha.d = alpha.reshape(4, 1, 1, 1, 1)
    x = make_input()
    y = op(x)
    y.forward()
    outs = []
    for o in ops[:3]:
        v = o(x)
        if v is not x:
            v.forward()
        outs.append(v.d.copy())
    outs.append(np.zeros_like(outs[0]))
    expect = sum(p * o for p, o in zip(softmax(alpha), outs))
    np.testing.assert_allclose(y.d, expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(3,), (3, 1, 1, 1, 1)])
def test_weighted_sum_matches_numpy_and_its_weight_gradient(shape):
    """``sum_k w[k] * y_k`` over some of the weights (here 2 and 0), and
    ``d/dw_k = sum(g * y_k)``; a generator's terms are built in turn."""
    from nnabla_nas.module.mixedop import weighted_sum
    rng = np.random.RandomState(0)
    w = nn.Variable.from_numpy_array(rng.rand(*shape).astype(np.float32), need_grad=True)
    ys = [rng.randn(2, 3, 2).astype(np.float32) for _ in range(2)]
    built = []

    def terms():
        for k, y in ((2, ys[0]), (0, ys[1])):
            built.append(k)
            yield k, nn.Variable.from_numpy_array(y)
    out = weighted_sum(w, terms())
    assert built == [2, 0] and out.shape == (2, 3, 2)
    g = rng.randn(2, 3, 2).astype(np.float32)
    loss = F.sum(out * nn.Variable.from_numpy_array(g))
    w.grad.zero()
    loss.forward()
    loss.backward()
    flat = w.d.ravel()
    np.testing.assert_allclose(out.d, flat[2] * ys[0] + flat[0] * ys[1], rtol=1e-6)
    np.testing.assert_allclose(w.g.ravel(), [np.sum(g * ys[1]), 0, np.sum(g * ys[0])],
                               rtol=1e-5)


def test_full_mode_does_not_build_zero_ops():
    op = Mo.MixedOp([Mo.Identity(), Mo.Zero()])
    op(make_input())
    assert op._ops[1].input_shapes == [] and op._ops[0].input_shapes


def loss_value(op, x, r):
    y = op(x)
    loss = F.sum(y * nn.Variable.from_numpy_array(r))
    loss.forward()
    return float(loss.d)


def test_full_mode_gradients_match_finite_differences():
    op = Mo.MixedOp(make_ops(), mode="full")
    op._alpha.d = np.array([0.2, -0.4, 0.7, 0.1]).reshape(4, 1, 1, 1, 1)
    x = make_input()
    r = np.random.RandomState(1).randn(2, 2, 5, 5).astype(np.float32)
    for p in op.get_parameters().values():
        p.grad.zero()
    y = op(x)
    loss = F.sum(y * nn.Variable.from_numpy_array(r))
    loss.forward()
    loss.backward()
    analytic_alpha = op._alpha.g.ravel().copy()
    w = op._ops[0]._W
    analytic_w = w.g.copy()

    eps = 1e-2
    for k in range(4):
        base = op._alpha.d.copy()
        plus, minus = base.copy(), base.copy()
        plus.ravel()[k] += eps
        minus.ravel()[k] -= eps
        op._alpha.d = plus
        lp = loss_value(op, x, r)
        op._alpha.d = minus
        lm = loss_value(op, x, r)
        op._alpha.d = base
        np.testing.assert_allclose(analytic_alpha[k], (lp - lm) / (2 * eps), rtol=2e-2, atol=2e-3)

    for idx in [(0, 0, 1, 1), (1, 1, 0, 2), (1, 0, 2, 0)]:
        base = w.d.copy()
        plus, minus = base.copy(), base.copy()
        plus[idx] += eps
        minus[idx] -= eps
        w.d = plus
        lp = loss_value(op, x, r)
        w.d = minus
        lm = loss_value(op, x, r)
        w.d = base
        np.testing.assert_allclose(analytic_w[idx], (lp - lm) / (2 * eps), rtol=2e-2, atol=2e-3)
    # The gradient of alpha is not trivially zero.
    assert np.abs(analytic_alpha).max() > 1e-2


def test_sample_mode_frequencies_follow_softmax():
    alpha = np.array([1.0, 0.0, -1.0, 0.5])
    op = Mo.MixedOp(make_ops(), mode="sample", rng=np.random.RandomState(7))
    op._alpha.d = alpha.reshape(4, 1, 1, 1, 1)
    x = nn.Variable((1, 2, 5, 5))
    n = 3000
    counts = np.zeros(4)
    for _ in range(n):
        op(x)
        counts[op.active_index] += 1
    # Chi-square goodness of fit, df = 3: p > 0.001 unless the sampler is wrong
    # (a sampler off by 3 points on one op fails at this n).
    _, pvalue = stats.chisquare(counts, n * softmax(alpha))
    assert pvalue > 1e-3, (counts / n, softmax(alpha))


def test_sample_mode_bookkeeping():
    op = Mo.MixedOp(make_ops(), mode="sample", rng=np.random.RandomState(3))
    alpha = np.array([0.3, 0.1, -0.2, 0.0])
    op._alpha.d = alpha.reshape(4, 1, 1, 1, 1)
    seen = set()
    for _ in range(40):
        y = op(make_input())
        k = op.active_index
        seen.add(k)
        expect = softmax(alpha)
        expect[k] -= 1
        np.testing.assert_allclose(op._alpha.g.ravel(), expect, rtol=1e-6, atol=1e-7)
        for j, o in enumerate(op._ops):
            assert o.need_grad == (j == k)
        # Only the chosen op's weights are trainable; only it was built.
        grad_params = op.get_parameters(grad_only=True)
        assert ("_ops/0/_W" in grad_params) == (k == 0)
        assert "_alpha" in grad_params
        if k == 0:
            y.forward()
            ref = op._ops[0](make_input())
            ref.forward()
            np.testing.assert_allclose(y.d, ref.d)
    assert seen == {0, 1, 2, 3}


def test_sample_mode_same_seed_same_sequence():
    def draws(seed):
        op = Mo.MixedOp(make_ops(), mode="sample", rng=np.random.RandomState(seed))
        x = nn.Variable((1, 2, 5, 5))
        out = []
        for _ in range(30):
            op(x)
            out.append(op.active_index)
        return out
    assert draws(5) == draws(5)
    assert draws(5) != draws(6)
    # Without an rng, numpy's global seed makes it repeatable.
    np.random.seed(11)
    a = Mo.MixedOp(make_ops(), mode="sample")
    np.random.seed(11)
    b = Mo.MixedOp(make_ops(), mode="sample")
    assert a.rng.randint(1 << 30) == b.rng.randint(1 << 30)


def test_max_mode_takes_argmax():
    op = Mo.MixedOp(make_ops(), mode="max")
    alpha = np.array([0.1, 0.2, 1.5, 0.0])
    op._alpha.d = alpha.reshape(4, 1, 1, 1, 1)
    x = make_input()
    for _ in range(5):
        assert op(x) is x  # Identity was chosen
        assert op.active_index == 2
        assert op.active_op is op._ops[2]
    expect = softmax(alpha)
    expect[2] -= 1
    np.testing.assert_allclose(op._alpha.g.ravel(), expect, rtol=1e-6)
    assert [o.need_grad for o in op._ops] == [False, False, True, False]


def test_active_op_is_none_in_full_mode():
    op = Mo.MixedOp(make_ops(), mode="full")
    assert op.active_op is None
    op(make_input())
    assert op.active_op is None


def test_switch_back_to_full_restores_need_grad():
    op = Mo.MixedOp(make_ops(), mode="max")
    op._alpha.d = np.array([0, 0, 1.0, 0]).reshape(4, 1, 1, 1, 1)
    op(make_input())
    op.mode = "full"
    op(make_input())
    assert all(o.need_grad for o in op._ops)
    assert "_ops/0/_W" in op.get_parameters(grad_only=True)


def test_shared_alpha():
    alpha = Mo.Parameter((4, 1, 1, 1, 1))
    net = Mo.ModuleList([Mo.MixedOp(make_ops(), alpha=alpha), Mo.MixedOp(make_ops(), alpha=alpha)])
    assert net[0]._alpha is net[1]._alpha
    alphas = [p for p in net.get_parameters().values() if p.is_arch]
    assert len(alphas) == 1


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_sampling_with_non_finite_alpha_names_the_problem(bad):
    op = Mo.MixedOp(make_ops(), mode="sample")
    op._alpha.d = np.array([0.0, bad, 1.0, 2.0]).reshape(4, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="architecture weights are not finite"):
        op(make_input())


def test_draw_equals_numpy_choice():
    from nnabla_nas.module.mixedop import draw
    for seed in range(5):
        p = softmax(np.random.RandomState(seed).randn(8) * 2)
        a, b = np.random.RandomState(seed), np.random.RandomState(seed)
        ours = [draw(a, p) for _ in range(500)]
        theirs = [int(b.choice(8, p=p)) for _ in range(500)]
        assert ours == theirs


@pytest.mark.parametrize("mode", ["sample", "max"])
def test_fixed_alphas_draws_and_scores_as_plain_calls(mode):
    """Inside fixed_alphas() the draws, scores and need_grad flags are those of
    plain calls, bit for bit; alpha is read once and alpha.g is not written."""
    from nnabla_nas.module.mixedop import fixed_alphas
    alpha = np.array([0.3, 0.1, -0.2, 0.05])
    ops = [Mo.MixedOp(make_ops(), mode=mode, rng=np.random.RandomState(7)) for _ in range(2)]
    for op in ops:
        op._alpha.d = alpha.reshape(4, 1, 1, 1, 1)
    x = make_input()
    plain, fixed = [], []
    for _ in range(30):
        ops[0](x)
        plain.append((ops[0].active_index, ops[0].score, ops[0]._alpha.g.ravel().copy()))
    ops[1]._alpha.g = np.full((4, 1, 1, 1, 1), 9.0)
    with fixed_alphas(ops[1:]):
        for i in range(30):
            ops[1](x)
            fixed.append((ops[1].active_index, ops[1].score))
            assert [o.need_grad for o in ops[1]._ops] == [j == plain[i][0] for j in range(4)]
            if i == 0:  # read once: a change inside the block is not seen
                ops[1]._alpha.d = np.array([9.0, 0, 0, 0]).reshape(4, 1, 1, 1, 1)
    assert np.all(ops[1]._alpha.g == 9.0)
    for (k, score, grad), (k2, score2) in zip(plain, fixed):
        assert k == k2
        np.testing.assert_array_equal(score, score2)
        np.testing.assert_allclose(grad, score, rtol=1e-6, atol=1e-7)
    assert len({k for k, _, _ in plain}) == (4 if mode == "sample" else 1)
    # After the block, alpha is read again and alpha.g written again.
    ops[1](x)
    assert ops[1].active_index == 0 and ops[1].score[0] < 0
    np.testing.assert_allclose(ops[1]._alpha.g.ravel(), ops[1].score, rtol=1e-6)


def test_fixed_alphas_nests_and_allows_mode_switches():
    """A nested block gives the outer one back; a MixedOp first called in max mode
    and then in sample mode inside one block draws as a plain call would."""
    from nnabla_nas.module.mixedop import fixed_alphas
    op = Mo.MixedOp(make_ops(), mode="max", rng=np.random.RandomState(3))
    ref = Mo.MixedOp(make_ops(), mode="sample", rng=np.random.RandomState(3))
    for m in (op, ref):
        m._alpha.d = np.array([0.3, 0.1, -0.2, 0.05]).reshape(4, 1, 1, 1, 1)
    x = make_input()
    with fixed_alphas([op]):
        op(x)
        assert op.active_index == 0
        op.mode = "sample"
        for _ in range(20):
            op(x)
            ref(x)
            assert op.active_index == ref.active_index
            np.testing.assert_array_equal(op.score, ref.score)
        with fixed_alphas([op]):
            op(x)
        op._alpha.g = np.zeros((4, 1, 1, 1, 1))
        op(x)  # still the outer block: alpha.g left alone
        assert np.all(op._alpha.g == 0)
    op(x)
    np.testing.assert_allclose(op._alpha.g.ravel(), op.score, rtol=1e-6)
    assert isinstance(op.last_draw[0], tuple)  # not a list the caller could change


def test_hot_path_writes_change_no_registration():
    """MixedOp.call writes through __dict__: the same effect as attribute writes,
    no module or parameter registered or lost, only the drawn operator trainable."""
    ops = [Mo.Conv(2, 2, (1, 1)), Mo.Conv(2, 2, (3, 3), pad=(1, 1)), Mo.Identity()]
    m = Mo.MixedOp(ops, mode="sample", rng=np.random.RandomState(0))
    modules, params = list(m.modules), list(m.get_parameters())
    x = nn.Variable((1, 2, 4, 4))
    drawn = set()
    for _ in range(30):
        m(x)
        k = m.active_index
        drawn.add(k)
        assert list(m.modules) == modules and list(m.get_parameters()) == params
        expected = {f"_ops/{k}/{n}" for n in ops[k].get_parameters()} | {"_alpha"}
        assert set(m.get_parameters(grad_only=True)) == expected
        assert [op.need_grad for op in ops] == [i == k for i in range(3)]
    assert drawn == {0, 1, 2}


def test_plan_builds_the_given_operator_and_reports_its_score():
    op = Mo.MixedOp(make_ops(), mode="sample", rng=np.random.RandomState(0))
    position = op.rng.get_state()[2]
    score = np.array([0.1, -0.2, 0.3, -0.2])
    op.plan(2, score)  # the identity
    y = op(make_input())
    assert op.active_index == 2
    assert op._ops[2].need_grad and not op._ops[0].need_grad
    np.testing.assert_array_equal(op.score, score)
    np.testing.assert_array_equal(op._alpha.g.ravel(), score)
    assert y.parent is None  # the identity's output is its input
    np.testing.assert_allclose(y.d, make_input().d)
    assert op.rng.get_state()[2] == position  # no draw was made
    op(make_input())  # a plan is used once
    assert op.planned_score is None


def test_binary_gates_value_and_gradient_match_numpy():
    """Under binary_gates the output is the open operator's, and gate_gradient
    is ProxylessNAS' estimate sum_j dL/dg_j r_j (delta_ij - r_i), with dL/dg_j
    the inner product of the output gradient with operator j's output."""
    from nnabla_nas.module.mixedop import binary_gates
    ops = [Mo.Lambda(lambda x: 2.0 * x), Mo.Lambda(lambda x: -x), Mo.Identity(), Mo.Zero()]
    op = Mo.MixedOp(ops, mode="sample", rng=np.random.RandomState(1))
    alpha = np.array([0.5, -0.3, 0.2, 0.0])
    op._alpha.d = alpha.reshape(4, 1, 1, 1, 1)
    x = make_input()
    w = np.random.RandomState(2).randn(*x.shape).astype(np.float32)
    outputs = {0: 2 * x.d, 1: -x.d, 2: x.d, 3: 0 * x.d}
    pairs = set()
    for _ in range(30):
        with binary_gates([op]):
            y = op(x)
        loss = F.sum(y * nn.Variable.from_numpy_array(w))
        loss.forward()
        loss.backward()
        pair = op.gate_pair
        pairs.add(pair)
        assert pair[0] != pair[1] and op.active_index in pair
        np.testing.assert_allclose(y.d, outputs[op.active_index], rtol=1e-6)
        r = softmax(alpha[list(pair)])
        dg = np.array([np.sum(w * outputs[k]) for k in pair])
        expect = np.zeros(4)
        for i in range(2):
            expect[pair[i]] = sum(dg[j] * r[j] * ((i == j) - r[i]) for j in range(2))
        np.testing.assert_allclose(op.gate_gradient, expect, rtol=1e-4, atol=1e-5)
    assert len(pairs) > 4
    op(x)  # outside the block: one operator again
    assert op.gate_pair is None and op.gate_gradient is None
