"""Tests of the DARTS `TrainNet`: genotype import, auxiliary head, drop path."""

import json

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.contrib.classification.darts import CANDIDATES, SearchNet, TrainNet
from nnabla_nas.contrib.classification.darts.cells import DropPath
from nnabla_nas.contrib.classification.darts.ops import FactorizedReduce, build_op
from nnabla_nas.contrib.classification.darts.train import AuxiliaryHead

from .conftest import DARTS_V2, make_input, make_labels


def forward(*variables):
    nn.forward_all(list(variables))
    return [v.d.copy() for v in variables]


def edge_types(cell):
    return [[type(op).__name__ for op in node] for node in cell._edges]


@pytest.mark.parametrize("shape", [(2, 1, 8, 8), (2, 3, 32, 32)])
def test_output_shape(genotype, shape):
    net = TrainNet(shape[1], 2, 3, 10, genotype)
    y = net(make_input(shape))
    assert y.shape == (2, 10)
    assert np.isfinite(forward(y)[0]).all()
    assert net.get_arch_parameters() == {}
    assert all(p.need_grad for k, p in net.get_parameters().items() if k.endswith("_gamma"))


def test_cells_follow_the_genotype(genotype):
    net = TrainNet(1, 2, 3, 10, genotype)
    normal, reduce = net.cells[0], net.cells[1]
    assert edge_types(normal) == [["SepConv", "SepConv"], ["SepConv", "SepConv"],
                                  ["SepConv", "Identity"], ["Identity", "DilConv"]]
    # Reduction cell: edges from the cell inputs have stride 2, the others 1.
    assert edge_types(reduce)[1] == ["Identity", "MaxPool"]
    assert reduce._edges[1][1]._stride == (2, 2)
    assert isinstance(net.cells[2]._preprocess0, FactorizedReduce)


def test_round_trip_from_search(tmp_path):
    search = SearchNet(1, 2, 3, 10)
    sep3 = CANDIDATES.index("sep_conv_3x3")
    for cell in search.cells:
        for op in cell._mixed:
            d = np.random.randn(*op._alpha.shape)
            d[sep3] += 5.0 if cell.reduction else 0.0
            op._alpha.d = d
    search.save_arch(str(tmp_path))
    genotype = search.genotype()
    assert all(e["op"] == "sep_conv_3x3" for node in genotype["reduce"] for e in node)
    net = TrainNet(1, 2, 3, 10, str(tmp_path / "arch.json"))
    assert edge_types(net.cells[1]) == [["SepConv", "SepConv"]] * 4
    for cell, channels in zip(net.cells, [2, 4, 8]):          # doubled at each reduction
        cell_genotype = genotype["reduce" if cell.reduction else "normal"]
        assert cell._inputs == [[e["input"] for e in node] for node in cell_genotype]
        for node, ops in zip(cell_genotype, cell._edges):
            for edge, op in zip(node, ops):
                ref = build_op(edge["op"], channels, cell.stride(edge["input"]), search=False)
                assert repr(op) == repr(ref)
    forward(net(make_input()))


@pytest.mark.parametrize("shape", [(2, 1, 8, 8), (2, 3, 32, 32)])
def test_auxiliary_head_in_training_only(genotype, shape):
    net = TrainNet(shape[1], 2, 3, 10, genotype, auxiliary=True)
    x, t = make_input(shape), make_labels([0, 9])
    outputs = net(x)
    assert isinstance(outputs, tuple) and [o.shape for o in outputs] == [(2, 10), (2, 10)]
    loss = net.loss(outputs, t, loss_weights=[1.0, 0.4])
    main, aux, total = forward(net.loss(outputs[0], t), net.loss(outputs[1], t), loss)
    np.testing.assert_allclose(total, main + 0.4 * aux, rtol=1e-5)
    net.apply(training=False)
    y = net(x)
    assert isinstance(y, nn.Variable) and y.shape == (2, 10)


@pytest.mark.parametrize("size", [1, 2, 5, 8, 11])
def test_auxiliary_head_robust_to_small_features(size):
    head = AuxiliaryHead(3, 10)
    y = head(make_input((2, 3, size, size)))
    assert y.shape == (2, 10)
    assert np.isfinite(forward(y)[0]).all()


def test_drop_path_in_training_only(genotype):
    nn.seed(0)
    x = make_input()
    net = TrainNet(1, 2, 3, 10, genotype, drop_path=0.9)
    droppers = [m for _, m in net.get_modules() if isinstance(m, DropPath)]
    assert len(droppers) == 3 and {m.drop_prob for m in droppers} == {0.9}
    y = net(x)
    first, second = forward(y), forward(y)
    assert not np.allclose(first, second)          # new masks each forward pass
    net.drop_path_prob = 0.0                       # a trainer may change it per epoch
    assert {m.drop_prob for m in droppers} == {0.0}
    y = net(x)
    np.testing.assert_array_equal(forward(y), forward(y))
    net.drop_path_prob = 0.9
    net.apply(training=False)
    y = net(x)
    np.testing.assert_array_equal(forward(y), forward(y))


def test_bad_genotype_and_arguments(tmp_path, genotype):
    missing = str(tmp_path / "arch.json")
    with pytest.raises(ValueError, match=f"genotype file '{missing}' does not exist"):
        TrainNet(1, 2, 3, 10, missing)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json' is not valid JSON"):
        TrainNet(1, 2, 3, 10, str(tmp_path / "bad.json"))
    genotype["normal"][0][0]["op"] = "conv_7x7"
    (tmp_path / "op.json").write_text(json.dumps(genotype))
    with pytest.raises(ValueError, match="op.json', 'normal' cell, node 0: unknown op"):
        TrainNet(1, 2, 3, 10, str(tmp_path / "op.json"))
    with pytest.raises(ValueError, match="has num_nodes=4, but the network has num_choices=5"):
        TrainNet(1, 2, 3, 10, DARTS_V2, num_choices=5, multiplier=4)
    with pytest.raises(ValueError, match=r"drop_path must be a number in \[0, 1\), got 1.0"):
        TrainNet(1, 2, 3, 10, DARTS_V2, drop_path=1.0)
