"""Tests of the DARTS cells and of `DropPath`."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.darts.cells import DropPath, SearchCell, TrainCell
from nnabla_nas.contrib.classification.darts.ops import FactorizedReduce, ReLUConvBN, SepConv

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
                                         ("pnas", "sample")])
def test_search_net_lets_a_dropped_graph_go(space, mode):
    """Once the caller drops a built graph, no Variable of it survives: nothing in
    the model (a ReLU shared within a build, say) keeps it, its functions' work
    buffers and its unfreed activations alive into the next build."""
    import gc
    from nnabla_nas.contrib import darts, pnas
    kwargs = {"mode": mode} if space == "darts" else {}
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
