"""Path sampling of the DARTS cells (`sampling`): the draws and their scores."""

import itertools

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.contrib import pnas
from nnabla_nas.contrib.classification.darts.sampling import NONE, draw_edge, draw_node
from nnabla_nas.runner.searcher.score import ScoreSum


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def node_probability(alphas, drawn):
    """Reference: the probability of an ordered draw, written out from the
    definition (edge by s_j / S over the edges left, then its op by p_j
    restricted to the non-none ops)."""
    p = softmax(alphas)
    s = 1.0 - p[:, NONE]
    left, prob = list(range(len(p))), 1.0
    for j, op in drawn:
        prob *= s[j] / s[left].sum() * p[j, op] / s[j]
        left.remove(j)
    return prob


@pytest.mark.parametrize("edges, seed", [(2, 0), (3, 1), (5, 2)])
def test_draw_node_score_is_the_gradient_of_minus_log_p(edges, seed):
    rng = np.random.RandomState(seed)
    alphas = rng.randn(edges, 8)
    drawn, grads = draw_node(softmax(alphas), np.random.RandomState(seed))
    assert len(drawn) == 2 and len({j for j, _ in drawn}) == 2
    assert all(op != NONE for _, op in drawn)
    eps = 1e-6
    numeric = np.zeros_like(alphas)
    for j, k in itertools.product(range(edges), range(8)):
        up, down = alphas.copy(), alphas.copy()
        up[j, k] += eps
        down[j, k] -= eps
        numeric[j, k] = -(np.log(node_probability(up, drawn)) -
                          np.log(node_probability(down, drawn))) / (2 * eps)
    np.testing.assert_allclose(np.array(grads), numeric, atol=1e-6)


def test_draw_node_frequencies_follow_the_probabilities():
    """With equal alphas every pair of inputs is equally likely; an edge whose
    ``none`` is likely is drawn less, in the proportion the model gives."""
    rng = np.random.RandomState(0)
    alphas = np.zeros((3, 8))
    alphas[2, NONE] = 2.0
    counts = np.zeros(3)
    n = 20000
    for _ in range(n):
        drawn, _ = draw_node(softmax(alphas), rng)
        for j, _ in drawn:
            counts[j] += 1
    expected = np.zeros(3)
    for order in itertools.permutations(range(3), 2):
        prob = sum(node_probability(alphas, list(zip(order, ops)))
                   for ops in itertools.product(range(7), repeat=2))
        for j in order:
            expected[j] += prob
    np.testing.assert_allclose(counts / n, expected, atol=0.01)
    assert expected[2] < expected[0] - 0.2


def test_draw_edge_never_draws_none_and_follows_the_rest():
    rng = np.random.RandomState(0)
    alpha = np.linspace(-1, 1, 8)
    p = softmax(alpha)
    counts = np.bincount([draw_edge(p, rng)[0] for _ in range(20000)], minlength=8)
    assert counts[NONE] == 0
    q = p.copy()
    q[NONE] = 0
    np.testing.assert_allclose(counts / 20000, q / q.sum(), atol=0.01)
    index, score = draw_edge(p, rng)
    expected = q / q.sum()
    expected[index] -= 1
    np.testing.assert_allclose(score, expected)


def test_nodes_sampling_builds_two_inputs_per_node_and_scores_them():
    np.random.seed(0)
    net = pnas.SearchNet(3, 4, 2, 10, num_choices=3, multiplier=2, sampling="nodes")
    x = nn.Variable((2, 3, 8, 8))
    x.d = np.random.randn(*x.shape)
    mixed = [m for _, m in net.get_modules() if type(m).__name__ == "MixedOp"]
    score = ScoreSum(net.get_arch_parameters(), mixed)
    for _ in range(3):
        score.forget_draws()
        net(x).forward()
        for cell in net.cells:
            ops = [m.active_index for m in cell._mixed]
            start = 0
            for node in range(3):
                edges = ops[start:start + node + 2]
                start += node + 2
                assert sum(k != NONE for k in edges) == 2
        flat = score.of_last_build()
        np.testing.assert_allclose(flat, np.concatenate([m.score for m in mixed]))
        # Every edge of a node moves its normaliser: no edge's score is zero.
        assert all(np.abs(m.score).sum() > 0 for m in mixed)


def test_edges_sampling_is_the_older_packages_draw():
    """``sampling="edges"`` (the older package's) draws exactly as before: each
    MixedOp from its own random state over all candidates."""
    np.random.seed(3)
    net = pnas.SearchNet(3, 4, 2, 10, num_choices=2, multiplier=2, sampling="edges")
    mixed = [m for _, m in net.get_modules() if type(m).__name__ == "MixedOp"]
    states = [m.rng.get_state() for m in mixed]
    x = nn.Variable((2, 3, 8, 8))
    net(x)
    for m, state in zip(mixed, states):
        rng = np.random.RandomState()
        rng.set_state(state)
        assert m.active_index == int(np.searchsorted(np.cumsum(np.full(8, 1 / 8)),
                                                     rng.random_sample(), side="right"))
        np.testing.assert_allclose(m.score, np.eye(8)[m.active_index] * -1 + 1 / 8)


def test_unknown_sampling_names_the_valid_ones():
    with pytest.raises(ValueError, match="edges, edges-no-none, edges-mean, nodes"):
        pnas.SearchNet(3, 4, 2, 10, sampling="paths")
