"""ScoreSum: one path's grad log p(a) as a flat vector over the architecture parameters."""

import nnabla as nn
import numpy as np

from nnabla_nas import module as Mo
from nnabla_nas.runner.searcher.score import ScoreSum


def choice(n, alpha=None, seed=0, ops=None):
    return Mo.MixedOp(ops or [Mo.Identity() for _ in range(n)], mode="sample", alpha=alpha,
                      rng=np.random.RandomState(seed))


def test_shared_alphas_add_their_scores_in_order():
    """MixedOps sharing an alpha add their scores at its place (bit for bit
    ``0 + s1 + s2 + ...`` in model order, as summing array after array); another
    alpha keeps its own."""
    shared = Mo.Parameter((3, 1, 1, 1, 1), initializer=np.array([0.3, -1.1, 0.7])
                          .reshape(3, 1, 1, 1, 1))
    own = Mo.Parameter((4, 1, 1, 1, 1), initializer=np.arange(4.0).reshape(4, 1, 1, 1, 1))
    ops = [choice(3, shared, 1), choice(4, own, 2), choice(3, shared, 3),
           choice(3, shared, 4), choice(3, shared, 5)]
    sums = ScoreSum({"shared": shared, "own": own}, ops)
    x = nn.Variable((1, 2))
    orders = set()
    for _ in range(40):
        sums.forget_draws()
        for m in ops:
            m(x)
        flat = sums.of_last_build()
        parts = [ops[k].score for k in (0, 2, 3, 4)]
        expected = np.concatenate([(((np.zeros(3) + parts[0]) + parts[1]) + parts[2]) + parts[3],
                                   np.zeros(4) + ops[1].score])
        np.testing.assert_array_equal(flat, expected)
        reordered = (((np.zeros(3) + parts[3]) + parts[2]) + parts[1]) + parts[0]
        orders.add(np.array_equal(reordered, expected[:3]))
        assert abs(flat[:3].sum()) < 1e-12 and abs(flat[3:].sum()) < 1e-12
    assert False in orders  # the order of the sum shows in the last bits


def test_a_choice_point_the_build_did_not_reach_adds_nothing():
    """An inner MixedOp inside an operator that was not drawn contributes no
    score, not the one of its last draw in an earlier build."""
    inner = choice(2, seed=4)
    outer = choice(2, seed=5, ops=[Mo.Identity(), inner])
    sums = ScoreSum({"outer": outer._alpha, "inner": inner._alpha}, [outer, inner])
    x = nn.Variable((1, 2))
    seen = set()
    for _ in range(40):
        sums.forget_draws()
        outer(x)
        flat = sums.of_last_build()
        reached = outer.active_index == 1
        seen.add(reached)
        assert (inner.score is not None) == reached
        np.testing.assert_array_equal(flat[2:], inner.score if reached else np.zeros(2))
        np.testing.assert_array_equal(flat[:2], outer.score)
    assert seen == {True, False}


def test_assign_grads_fills_each_parameter_from_its_place():
    a = Mo.Parameter((2, 1, 1, 1, 1))
    b = Mo.Parameter((3, 1, 1, 1, 1))
    sums = ScoreSum({"a": a, "b": b}, [])
    sums.assign_grads(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(a.g.ravel(), [1, 2])
    np.testing.assert_array_equal(b.g.ravel(), [3, 4, 5])
    np.testing.assert_array_equal(sums.of_last_build(), np.zeros(5))  # nothing called
