"""Tests of the DARTS `SearchNet`."""

import json
import os

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib import darts
from nnabla_nas.contrib.classification import darts as classification_darts
from nnabla_nas.contrib.classification.darts import CANDIDATES, SearchNet
from nnabla_nas.utils.io import load_h5_parameters

from .conftest import make_input, make_labels

SEP3, NONE = CANDIDATES.index("sep_conv_3x3"), CANDIDATES.index("none")


def mixed_ops(net):
    return [m for _, m in net.get_modules() if isinstance(m, Mo.MixedOp)]


def distinct_alphas(net):
    return {id(op._alpha) for op in mixed_ops(net)}


def test_both_import_paths_give_the_same_classes():
    assert darts.SearchNet is classification_darts.SearchNet is SearchNet
    assert darts.TrainNet is classification_darts.TrainNet
    assert darts.CANDIDATES == CANDIDATES


@pytest.mark.parametrize("shape, in_channels", [((2, 1, 8, 8), 1), ((2, 3, 32, 32), 3)])
def test_output_shape_loss_and_alpha_gradient(shape, in_channels):
    net = SearchNet(in_channels, 2, 3, 10)
    x, t = make_input(shape), make_labels([1, 7])
    y = net(x)
    assert y.shape == (2, 10)
    loss = net.loss(y, t)
    loss.forward()
    for p in net.get_parameters().values():
        p.grad.zero()
    loss.backward()
    assert np.isfinite(loss.d)
    assert all(np.abs(p.g).sum() > 0 for p in net.get_arch_parameters().values())


def test_reduction_cells_at_thirds():
    assert [c.reduction for c in SearchNet(1, 2, 3, 10).cells] == [False, True, True]
    assert [c.reduction for c in SearchNet(1, 2, 6, 10).cells] == \
        [False, False, True, False, True, False]


@pytest.mark.parametrize("num_cells", [2, 3])
def test_unshared_alphas_one_per_mixed_op(num_cells):
    net = SearchNet(1, 2, num_cells, 10, shared=False)
    assert len(mixed_ops(net)) == 14 * num_cells
    assert len(distinct_alphas(net)) == 14 * num_cells
    assert len(net.get_arch_parameters()) == 14 * num_cells


def test_shared_alphas_one_set_per_cell_type():
    net = SearchNet(1, 2, 4, 10, shared=True)
    assert len(mixed_ops(net)) == 14 * 4
    assert len(distinct_alphas(net)) == 28
    arch = net.get_arch_parameters()
    assert list(arch) == [f"alpha_normal/{i}" for i in range(14)] + \
        [f"alpha_reduce/{i}" for i in range(14)]
    assert all(p.shape == (8, 1, 1, 1, 1) for p in arch.values())
    normal = [c for c in net.cells if not c.reduction]
    assert len(normal) == 2
    assert all(a._alpha is b._alpha for a, b in zip(normal[0]._mixed, normal[1]._mixed))
    assert {id(op._alpha) for op in normal[0]._mixed} == {id(p) for p in net.alpha_normal}


@pytest.mark.parametrize("shared", [False, True])
def test_arch_and_net_parameters_partition_everything(shared):
    net = SearchNet(1, 2, 3, 10, shared=shared)
    everything = net.get_parameters()
    net_params, arch = net.get_net_parameters(), net.get_arch_parameters()
    assert set(net_params) | set(arch) == set(everything)
    assert not set(net_params) & set(arch)
    assert {id(p) for p in arch.values()} == distinct_alphas(net)
    # Search BN has no affine parameters: only conv and classifier weights train.
    trainable = net.get_net_parameters(grad_only=True)
    assert not [k for k in trainable if k.startswith("cells/") and "_gamma" in k]


@pytest.mark.parametrize("mode", ["sample", "max"])
def test_mode_reaches_every_mixed_op(mode):
    net = SearchNet(1, 2, 2, 10, mode=mode)
    assert {op.mode for op in mixed_ops(net)} == {mode}
    y = net(make_input())
    y.forward()
    assert y.shape == (2, 10)
    assert all(op.active_index is not None for op in mixed_ops(net))


def plant(net, cells, edge, op_index, value):
    for cell in cells:
        alpha = cell._mixed[edge]._alpha
        d = np.zeros(alpha.shape)
        d[op_index] = value
        alpha.d = d


def test_planted_alpha_is_exported_and_none_never(tmp_path):
    net = SearchNet(1, 2, 3, 10, shared=False)
    normal = [c for c in net.cells if not c.reduction]
    plant(net, normal, edge=1, op_index=SEP3, value=4.0)       # node 0, input c_{k-1}
    plant(net, normal, edge=2 + 0, op_index=NONE, value=8.0)   # node 1, input c_{k-2}
    genotype = net.genotype()
    p = np.exp(4.0) / (np.exp(4.0) + 7)
    assert {"op": "sep_conv_3x3", "input": 1, "prob": round(p, 6)} in genotype["normal"][0]
    assert 0 not in [e["input"] for e in genotype["normal"][1]]
    assert all(e["op"] != "none" for cell in ("normal", "reduce")
               for node in genotype[cell] for e in node)
    assert genotype["num_nodes"] == 4 and len(genotype["reduce"]) == 4


def test_unshared_genotype_uses_mean_of_softmaxes():
    net = SearchNet(1, 2, 4, 10, shared=False)      # normal cells 0 and 3
    normal = [c for c in net.cells if not c.reduction]
    plant(net, normal[:1], edge=0, op_index=SEP3, value=4.0)
    p = np.exp(4.0) / (np.exp(4.0) + 7)
    edge = net.genotype()["normal"][0][0]
    assert edge["op"] == "sep_conv_3x3" and edge["input"] == 0
    np.testing.assert_allclose(edge["prob"], (p + 1 / 8) / 2, atol=1e-6)


def test_shared_genotype_reads_shared_alphas():
    net = SearchNet(1, 2, 3, 10, shared=True)
    d = np.zeros((8, 1, 1, 1, 1))
    d[CANDIDATES.index("max_pool_3x3")] = 3.0
    net.alpha_reduce[13].d = d                     # node 3, input node 2
    assert {"op": "max_pool_3x3", "input": 4} == \
        {k: v for k, v in net.genotype()["reduce"][3][-1].items() if k != "prob"}


def test_save_arch_writes_every_file(tmp_path):
    net = SearchNet(1, 2, 2, 10, shared=True)
    plant(net, [net.cells[0]], edge=0, op_index=SEP3, value=2.0)
    folder = str(tmp_path / "out")
    net.save_arch(folder)
    assert sorted(os.listdir(folder)) == ["arch.h5", "arch.json", "normal.dot", "normal.png",
                                          "reduce.dot", "reduce.png"]
    saved = load_h5_parameters(os.path.join(folder, "arch.h5"))
    assert list(saved) == list(net.get_arch_parameters())
    np.testing.assert_array_equal(saved["alpha_reduce/0"], net.alpha_reduce[0].d)
    with open(os.path.join(folder, "arch.json")) as f:
        assert json.load(f) == net.genotype()
    with open(os.path.join(folder, "reduce.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of full, sample, max"):
        SearchNet(1, 2, 2, 10, mode="random")
    with pytest.raises(ValueError, match="multiplier must be an integer in 1..num_choices=3"):
        SearchNet(1, 2, 2, 10, num_choices=3, multiplier=4)
    with pytest.raises(ValueError, match="num_cells must be an integer >= 1, got 0"):
        SearchNet(1, 2, 0, 10)


def test_summary():
    text = SearchNet(1, 2, 2, 10, shared=True).summary()
    assert "224 arch parameters in 28 arrays" in text and "28 MixedOps" in text


# -- PC-DARTS: partial channels and edge normalization --------------------------

def plain_darts(net, x):
    """DARTS' search network written out from the net's own modules: every node
    the plain sum of its MixedOps on all earlier states."""
    from functools import reduce
    import nnabla.functions as F
    s0 = s1 = net.stem(x)
    for cell in net.cells:
        states = [cell._preprocess0(s0), cell._preprocess1(s1)]
        start = 0
        for _ in range(cell._num_nodes):
            terms = [cell._mixed[start + j](h) for j, h in enumerate(states)]
            start += len(states)
            states.append(reduce(F.add2, terms))
        for relu in cell._relus:
            relu.forget()
        s0, s1 = s1, F.concatenate(*states[-cell._multiplier:], axis=1)
    return net.classifier(net.global_pool(s1))


@pytest.mark.parametrize("shared", [False, True])
def test_plain_options_give_plain_darts_bit_for_bit(shared):
    """``partial_channels=1, edge_normalization=False``: the logits and every
    gradient of plain DARTS, to the last bit."""
    net = SearchNet(3, 4, 3, 10, shared=shared, partial_channels=1, edge_normalization=False)
    assert not [k for k in net.get_parameters() if "beta" in k and "/_beta" not in k]
    for i, p in enumerate(net.get_arch_parameters().values()):
        p.d = np.random.RandomState(i).randn(*p.shape)
    x, t = make_input((2, 3, 8, 8)), make_labels([1, 7])
    results = []
    for build in (net, lambda x: plain_darts(net, x)):
        loss = net.loss(build(x), t)
        for p in net.get_parameters().values():
            p.grad.zero()
        loss.forward()
        loss.backward()
        results.append([loss.d.copy()] + [p.g.copy() for p in net.get_parameters().values()])
    for ours, ref in zip(*results):
        np.testing.assert_array_equal(ours, ref)


def test_partial_channels_build_operations_for_a_kth_of_the_channels():
    net = SearchNet(1, 4, 3, 10, partial_channels=4)
    assert [c.reduction for c in net.cells] == [False, True, True]
    sep3 = [c._mixed[0].ops[SEP3] for c in net.cells]
    assert [op[0][2]._W.shape for op in sep3] == [(1, 1, 1, 1), (2, 2, 1, 1), (4, 4, 1, 1)]
    y = net(make_input((2, 1, 8, 8)))
    y.forward()
    assert y.shape == (2, 10) and np.isfinite(y.d).all()
    assert "partial_channels=4" in repr(net)


def test_shared_betas_one_set_per_cell_type():
    net = SearchNet(1, 2, 4, 10, shared=True, edge_normalization=True)
    arch = net.get_arch_parameters()
    betas = [k for k in arch if k.startswith("beta_")]
    assert betas == [f"beta_{t}/{i}" for t in ("normal", "reduce") for i in range(4)]
    assert [arch[k].shape for k in betas[:4]] == [(2,), (3,), (4,), (5,)]
    assert len(arch) == 28 + 8
    normal = [c for c in net.cells if not c.reduction]
    assert all(a is b for a, b in zip(normal[0].edge_betas, normal[1].edge_betas))
    assert all(a is b for a, b in zip(normal[0].edge_betas, net.beta_normal))


def test_unshared_betas_one_set_per_cell():
    net = SearchNet(1, 2, 3, 10, edge_normalization=True)
    arch = net.get_arch_parameters()
    betas = [k for k in arch if "edge_betas" in k]
    assert betas == [f"cells/{c}/edge_betas/{i}" for c in range(3) for i in range(4)]
    assert len(arch) == 3 * 14 + 3 * 4
    assert all(arch[k].is_arch for k in betas)
    assert not set(betas) & set(net.get_net_parameters())


def test_genotype_ranks_edges_by_alpha_and_beta(tmp_path):
    """By hand, node 1 of the normal cell (inputs c_{k-2}, c_{k-1}, node 0):
    sep_conv_3x3 on each input with probabilities e^a / (e^a + 7), a = 3, 2, 1;
    edge weights softmax(0, 1, 3) -> strengths 0.74 * 0.04, 0.51 * 0.11,
    0.28 * 0.84: inputs 1 and 2, where DARTS' ranking keeps 0 and 1."""
    net = SearchNet(1, 2, 3, 10, shared=True, edge_normalization=True)
    for j, a in enumerate((3.0, 2.0, 1.0)):
        d = np.zeros((8, 1, 1, 1, 1))
        d[SEP3] = a
        net.alpha_normal[2 + j].d = d
    net.beta_normal[1].d = np.array([0.0, 1.0, 3.0])
    node = net.genotype()["normal"][1]
    w = np.exp([0.0, 1.0, 3.0]) / np.exp([0.0, 1.0, 3.0]).sum()
    p = [np.exp(a) / (np.exp(a) + 7) for a in (3.0, 2.0, 1.0)]
    assert node == [{"op": "sep_conv_3x3", "input": j, "prob": round(p[j], 6),
                     "edge_weight": round(w[j], 6)} for j in (1, 2)]
    net.beta_normal[1].d = np.zeros(3)
    assert [e["input"] for e in net.genotype()["normal"][1]] == [0, 1]


def test_unshared_edge_weights_are_the_mean_over_cells():
    net = SearchNet(1, 2, 4, 10, edge_normalization=True)     # normal cells 0 and 3
    net.cells[0].edge_betas[0].d = np.array([np.log(3.0), 0.0])  # softmax 0.75, 0.25
    weights = net.edge_weights()
    np.testing.assert_allclose(weights["normal"][:2], [(0.75 + 0.5) / 2, (0.25 + 0.5) / 2])
    np.testing.assert_allclose(weights["reduce"][2:5], 1 / 3)
    assert SearchNet(1, 2, 4, 10).edge_weights() is None


def test_arch_h5_holds_the_betas_and_loads_back(tmp_path):
    net = SearchNet(1, 2, 3, 10, shared=True, edge_normalization=True, partial_channels=2)
    net.beta_reduce[2].d = np.array([0.5, -1.0, 2.0, 0.25])
    net.save_arch(str(tmp_path))
    saved = load_h5_parameters(str(tmp_path / "arch.h5"))
    assert list(saved) == list(net.get_arch_parameters())
    other = SearchNet(1, 2, 3, 10, shared=True, edge_normalization=True, partial_channels=2)
    other.load_parameters(str(tmp_path / "arch.h5"))
    for (name, ours), (_, theirs) in zip(other.get_arch_parameters().items(),
                                         net.get_arch_parameters().items()):
        np.testing.assert_array_equal(ours.d, theirs.d, err_msg=name)
    np.testing.assert_array_equal(other.beta_reduce[2].d, [0.5, -1.0, 2.0, 0.25])
    with open(tmp_path / "arch.json") as f:
        assert json.load(f) == other.genotype() == net.genotype()


@pytest.mark.parametrize("kwargs, message", [
    (dict(init_channels=2, partial_channels=4),
     r"^partial_channels must be one of 1, 2 \(a divisor of the nodes' channels 2, 4, 8 with "
     r"init_channels=2, num_cells=3\), got 4$"),
    (dict(init_channels=6, partial_channels=0),
     r"^partial_channels must be one of 1, 2, 3, 6 .*got 0$"),
    (dict(init_channels=4, partial_channels=2.5), r"partial_channels must be .*got 2.5$"),
    (dict(init_channels=4, edge_normalization=1), r"^edge_normalization must be true or false"),
    (dict(init_channels=4, partial_channels=2, mode="sample"),
     r"^partial_channels is a DARTS \(full mode\) option, not for mode='sample'"),
    (dict(init_channels=4, edge_normalization=True, mode="max"),
     r"^edge_normalization is a DARTS \(full mode\) option, not for mode='max'"),
])
def test_bad_pc_darts_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SearchNet(1, kwargs.pop("init_channels"), 3, 10, **kwargs)


def test_argmax_operators_are_the_genotype_modules():
    """The collapse monitor's view: the module of every kept edge, from the first
    cell of each type (normal cell 0, reduction cell 1 for 3 cells)."""
    net = SearchNet(1, 2, 3, 10, shared=True)
    d = np.zeros((8, 1, 1, 1, 1))
    d[CANDIDATES.index("max_pool_3x3")] = 3.0
    net.alpha_reduce[13].d = d                     # node 3, input node 2
    operators = net.argmax_operators()
    genotype = net.genotype()
    assert len(operators) == 2 * 4 * 2
    expected = [cell._mixed[sum(2 + i for i in range(node)) + e["input"]].ops[
        CANDIDATES.index(e["op"])]
        for cell, kind in ((net.cells[0], "normal"), (net.cells[1], "reduce"))
        for node, edges in enumerate(genotype[kind]) for e in edges]
    assert all(a is b for a, b in zip(operators, expected))
    assert operators[-1] is net.cells[1].edge(3, 4).ops[CANDIDATES.index("max_pool_3x3")]
