"""Tests of the DARTS cells and of `DropPath`."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.darts.cells import DropPath, SearchCell, TrainCell
from nnabla_nas.contrib.classification.darts.ops import (CANDIDATES, FactorizedReduce,
                                                         ReLUConvBN, SepConv)

from .conftest import make_input


@pytest.mark.parametrize("reduction, reduction_prev", [(False, False), (True, False),
                                                       (False, True), (True, True)])
def test_search_cell_shapes_and_edges(reduction, reduction_prev):
    s0 = make_input((2, 6, 8 if reduction_prev else 4, 8 if reduction_prev else 4))
    s1 = make_input((2, 5, 4, 4), seed=1)
    cell = SearchCell(6, 5, 3, reduction, reduction_prev, num_nodes=3, multiplier=2)
    y = cell(s0, s1)
    y.forward()
    side = 2 if reduction else 4
    assert y.shape == (2, 2 * 3, side, side)
    assert isinstance(cell._preprocess0, FactorizedReduce if reduction_prev else ReLUConvBN)
    assert len(cell._mixed) == 2 + 3 + 4
    assert cell.probabilities().shape == (9, 8)
    np.testing.assert_allclose(cell.probabilities(), 1 / 8)


def test_search_cell_shares_given_alphas():
    alphas = [Mo.Parameter((8, 1, 1, 1, 1)) for _ in range(5)]
    a = SearchCell(4, 4, 2, False, False, num_nodes=2, multiplier=2, alphas=alphas)
    b = SearchCell(4, 4, 2, False, False, num_nodes=2, multiplier=2, alphas=alphas)
    assert all(x._alpha is y._alpha is p for x, y, p in zip(a._mixed, b._mixed, alphas))


def test_search_cell_leaves_drawn_zero_edges_out_of_the_sums():
    """An edge that drew ``none`` adds nothing: the cell's output equals the sum
    of every edge (zeros included), with fewer additions; input gradients agree
    up to the order in which nnabla accumulates them."""
    import nnabla.functions as F
    from functools import reduce
    from nnabla_nas.contrib.classification.darts.ops import CANDIDATES
    cell = SearchCell(3, 3, 2, False, False, num_nodes=3, multiplier=3, mode="max")
    none, conv = CANDIDATES.index("none"), CANDIDATES.index("sep_conv_3x3")
    # node 0: both edges zero; node 1: one of three; node 2: two of four
    picks = [none, none, none, conv, none, conv, none, conv, none]
    for m, k in zip(cell._mixed, picks):
        m._alpha.d = np.eye(8)[k].reshape(m._alpha.shape)
    rng = np.random.RandomState(0)
    data = [rng.randn(2, 3, 4, 4).astype(np.float32) for _ in range(2)]
    grad = rng.randn(2, 6, 4, 4).astype(np.float32)

    def everything(s0, s1):  # the cell's maths with every term summed
        states = [cell._preprocess0(s0), cell._preprocess1(s1)]
        start = 0
        for node in range(3):
            terms = [cell._mixed[start + j](h) for j, h in enumerate(states)]
            start += len(states)
            states.append(reduce(F.add2, terms))
        return F.concatenate(*states[2:], axis=1)

    results, adds = [], []
    for build in (cell, everything):
        xs = [nn.Variable.from_numpy_array(d, need_grad=True) for d in data]
        for x in xs:
            x.grad.zero()
        y = build(*xs)
        count = []
        y.visit(lambda f: count.append(f) if f.info.type_name == "Add2" else None)
        adds.append(len(count))
        y.forward()
        y.backward(grad)
        results.append([y.d.copy()] + [x.g.copy() for x in xs])
    assert [m.active_index for m in cell._mixed] == picks
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for ours, ref in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
        assert np.abs(ours).max() > 0.1
    assert np.abs(results[0][0][:, :2]).max() == 0  # node 0 is all zeros
    assert adds == [1, 1 + 2 + 3]


def _graph_variables():
    import gc
    return {id(o) for o in gc.get_objects()
            if isinstance(o, nn.Variable) and o.parent is not None}


@pytest.mark.parametrize("space, mode", [("darts", "full"), ("darts", "sample"),
                                         ("pnas", "sample"), ("pc-darts", "full")])
def test_search_net_lets_a_dropped_graph_go(space, mode):
    """Once the caller drops a built graph, no Variable of it survives: nothing in
    the model (a ReLU shared within a build, a state's channel parts, say) keeps
    it, its functions' work buffers and its unfreed activations alive into the
    next build."""
    import gc
    from nnabla_nas.contrib import darts, pnas
    kwargs = {"mode": mode} if space != "pnas" else {}
    if space == "pc-darts":
        kwargs.update(partial_channels=2, edge_normalization=True)
        space = "darts"
    net = (darts if space == "darts" else pnas).SearchNet(3, 4, 3, 5, num_choices=2,
                                                          multiplier=2, **kwargs)
    before = _graph_variables()
    for _ in range(2):
        y = net(nn.Variable.from_numpy_array(np.ones((2, 3, 8, 8), np.float32)))
        y.forward()
        assert len(_graph_variables() - before) > 0  # (the check sees graph Variables)
        del y
        gc.collect()
        assert _graph_variables() - before == set()


def test_drop_path_drops_whole_samples_and_rescales():
    nn.seed(0)
    x = nn.Variable((400, 2, 3, 3))
    x.d = 1.0
    drop = DropPath(0.5)
    y = drop(x)
    y.forward()
    per_sample = y.d.reshape(400, -1)
    assert set(np.unique(per_sample)) == {0.0, 2.0}
    assert (per_sample.min(axis=1) == per_sample.max(axis=1)).all()   # whole samples
    assert 0.4 < (per_sample[:, 0] == 0).mean() < 0.6
    drop.training = False
    assert drop(x) is x
    drop.training, drop.enabled = True, False
    assert drop(x) is x


def test_drop_path_follows_its_probability_and_random_state_in_a_built_graph():
    """The mask reads drop_prob and draws from the module's rng at each forward
    pass, so a cached graph follows a schedule and a restored rng redraws the
    same masks (nnabla's own random generator cannot be saved)."""
    x = nn.Variable((50, 2, 3, 3))
    x.d = 1.0
    drop = DropPath(0.5, rng=np.random.RandomState(0))
    drop.drop_prob = 0.0  # a schedule starting at 0: the graph is built anyway
    y = drop(x)
    y.forward()
    np.testing.assert_array_equal(y.d, x.d)
    drop.drop_prob = 0.5
    state = drop.rng.get_state()
    y.forward()
    first = y.d.copy()
    assert 0 < (first[:, 0, 0, 0] == 0).mean() < 1
    y.forward()
    assert not np.array_equal(first, y.d)
    drop.rng.set_state(state)
    y.forward()
    np.testing.assert_array_equal(first, y.d)
    funcs = []
    y.visit(lambda f: funcs.append(f.info.type_name))
    assert not [f for f in funcs if f.startswith("Rand") or f == "Dropout"], funcs


def genotype_cell(ops):
    """A 2-node cell: node 0 = ops[0](c_{k-2}) + ops[1](c_{k-1}), node 1 likewise."""
    return [[{"op": ops[0], "input": 0}, {"op": ops[1], "input": 1}],
            [{"op": ops[0], "input": 0}, {"op": ops[1], "input": 1}]]


def test_train_cell_builds_the_genotype():
    cell = TrainCell(genotype_cell(["sep_conv_3x3", "skip_connect"]), 4, 4, 2,
                     reduction=True, reduction_prev=False, multiplier=2)
    assert [[type(op) for op in node] for node in cell._edges] == \
        [[SepConv, FactorizedReduce]] * 2
    s = make_input((2, 4, 8, 8))
    y = cell(s, s)
    y.forward()
    assert y.shape == (2, 4, 4, 4)


def test_drop_path_zeroes_edges_in_training_except_identity():
    nn.seed(0)
    s0, s1 = make_input((2, 4, 4, 4)), make_input((2, 4, 4, 4), seed=1)
    dropped = TrainCell(genotype_cell(["sep_conv_3x3", "max_pool_3x3"]), 4, 4, 2,
                        False, False, multiplier=2)
    dropped._drop_path.drop_prob = 0.999999
    y = dropped(s0, s1)
    y.forward()
    np.testing.assert_array_equal(y.d, 0.0)        # every edge of every sample dropped
    dropped.apply(training=False)
    y = dropped(s0, s1)
    y.forward()
    assert np.abs(y.d).sum() > 0                   # identity in evaluation

    kept = TrainCell(genotype_cell(["sep_conv_3x3", "skip_connect"]), 4, 4, 2,
                     False, False, multiplier=2)
    kept._drop_path.drop_prob = 0.999999
    y = kept(s0, s1)
    y.forward()
    assert (np.abs(y.d).reshape(2, -1).sum(axis=1) > 0).all()   # skip_connect is not dropped


# -- PC-DARTS: partial channels and edge normalization --------------------------

def _pc_cell(reduction, k=2, edge_normalization=False, seed=0):
    """A 2-node cell with random alphas (and betas)."""
    cell = SearchCell(6, 5, 4, reduction, False, num_nodes=2, multiplier=2,
                      partial_channels=k, edge_normalization=edge_normalization)
    rng = np.random.RandomState(seed)
    for m in cell._mixed:
        m.alpha.d = rng.randn(*m.alpha.shape)
    for beta in cell.edge_betas if edge_normalization else ():
        beta.d = rng.randn(*beta.shape)
    return cell


def _pc_reference(cell, s0, s1, k, weights=None):
    """The cell's maths edge by edge, as the paper writes it: every edge a
    :func:`partial_edge` (slice, MixedOp on the slice, concatenation, shuffle),
    each node the sum of its edges, weighted in numpy by ``weights[node]``."""
    from nnabla_nas.contrib.classification.darts.partial import partial_edge
    states = [cell._preprocess0(s0), cell._preprocess1(s1)]
    start = 0
    for node in range(2):
        edges = [partial_edge(cell._mixed[start + j], h, k, cell.stride(j))
                 for j, h in enumerate(states)]
        start += len(states)
        for e in edges:
            e.forward()
        w = np.ones(len(edges)) if weights is None else weights[node]
        total = sum(wj * e.d.astype(np.float64) for wj, e in zip(w, edges))
        states.append(nn.Variable.from_numpy_array(total.astype(np.float32)))
    return np.concatenate([states[2].d, states[3].d], axis=1)


def _softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


@pytest.mark.parametrize("reduction", [False, True])
@pytest.mark.parametrize("edge_normalization", [False, True])
def test_partial_channel_cell_equals_edge_by_edge_reference(reduction, edge_normalization):
    """The cell merges a node's edges once; the paper merges every edge and sums
    (edge normalization: a weighted sum with softmax(beta), computed by hand)."""
    cell = _pc_cell(reduction, edge_normalization=edge_normalization)
    s0, s1 = make_input((2, 6, 6, 6)), make_input((2, 5, 6, 6), seed=1)
    y = cell(s0, s1)
    y.forward()
    weights = ([_softmax(b.d) for b in cell.edge_betas] if edge_normalization else None)
    expected = _pc_reference(cell, s0, s1, 2, weights)
    assert y.shape == (2, 8, 3 if reduction else 6, 3 if reduction else 6)
    np.testing.assert_allclose(y.d, expected, rtol=1e-5, atol=1e-6)
    # The operations are built for 4 / 2 channels.
    assert cell._mixed[0].ops[CANDIDATES.index("sep_conv_3x3")][0][2]._W.shape == (2, 2, 1, 1)


def test_edge_normalization_without_partial_channels_is_a_weighted_sum_of_edges():
    cell = _pc_cell(False, k=1, edge_normalization=True)
    s0, s1 = make_input((2, 6, 4, 4)), make_input((2, 5, 4, 4), seed=1)
    y = cell(s0, s1)
    y.forward()
    states = [cell._preprocess0(s0), cell._preprocess1(s1)]
    start = 0
    for node in range(2):
        edges = [cell._mixed[start + j](h) for j, h in enumerate(states)]
        start += len(states)
        for e in edges:
            e.forward()
        w = _softmax(cell.edge_betas[node].d)
        total = sum(wj * e.d.astype(np.float64) for wj, e in zip(w, edges))
        states.append(nn.Variable.from_numpy_array(total.astype(np.float32)))
    np.testing.assert_allclose(y.d, np.concatenate([states[2].d, states[3].d], axis=1),
                               rtol=1e-5, atol=1e-6)


def test_beta_gradient_matches_finite_differences():
    """The gradient of a node's output with respect to its beta (the loss reads
    that node only: smooth in beta, no ReLU or max-pooling kink between)."""
    import nnabla.functions as F
    cell = _pc_cell(True, edge_normalization=True)
    s0, s1 = make_input((2, 6, 4, 4)), make_input((2, 5, 4, 4), seed=1)
    y = cell(s0, s1)
    for node, beta in enumerate(cell.edge_betas):
        channels = slice(4 * node, 4 * node + 4)  # multiplier 2: both nodes, 4 channels each
        g = np.random.RandomState(node).randn(2, 4, 2, 2).astype(np.float32)
        loss = F.sum(F.slice(y, start=(0, channels.start, 0, 0),
                             stop=(2, channels.stop, 2, 2)) * nn.Variable.from_numpy_array(g))
        for p in cell.get_parameters().values():
            p.grad.zero()
        loss.forward()
        loss.backward()
        eps, d, numeric = 1e-2, beta.d.copy(), []
        for i in range(len(d)):
            values = []
            for sign in (1, -1):
                beta.d = d + sign * eps * np.eye(len(d))[i]
                loss.forward()
                values.append(float(loss.d))
            numeric.append((values[0] - values[1]) / (2 * eps))
        beta.d = d
        np.testing.assert_allclose(beta.g, numeric, rtol=1e-2, atol=1e-3)
        assert np.abs(beta.g).max() > 1e-2


def test_edge_betas_are_architecture_parameters_and_weights_are_their_softmax():
    cell = _pc_cell(False, edge_normalization=True)
    assert [b.shape for b in cell.edge_betas] == [(2,), (3,)]
    assert all(b.is_arch for b in cell.edge_betas)
    np.testing.assert_allclose(cell.edge_weights(),
                               np.concatenate([_softmax(b.d) for b in cell.edge_betas]))
    np.testing.assert_array_equal(_pc_cell(False).edge_weights(), np.ones(5))
    shared = [Mo.Parameter((2,)), Mo.Parameter((3,))]
    a, b = (SearchCell(4, 4, 2, False, False, num_nodes=2, multiplier=2,
                       edge_normalization=True, betas=shared) for _ in range(2))
    assert all(x is y is p for x, y, p in zip(a.edge_betas, b.edge_betas, shared))


def test_search_cell_refuses_channels_k_does_not_divide():
    with pytest.raises(ValueError, match=r"partial_channels must be one of 1, 2, 4 \(a "
                                         r"divisor of the nodes' channels 4\), got 3"):
        SearchCell(4, 4, 4, False, False, num_nodes=2, multiplier=2, partial_channels=3)
