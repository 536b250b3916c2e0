import json

import numpy as np
import pytest

from nnabla_nas.contrib import pnas
from nnabla_nas.contrib.classification.darts.ops import CANDIDATES
from nnabla_nas.utils.io import load_h5_parameters, save_h5_parameters


def planted(folder, num_cells=3, sampling="edges"):
    """A search whose every edge favours sep_conv_3x3, except edge 0 of every
    normal cell (favours none) and edge 1 of every reduce cell (max_pool_3x3)."""
    net = pnas.SearchNet(1, 2, num_cells, 4, num_choices=2, multiplier=2, sampling=sampling)
    for cell in net.cells:
        for k, mixed in enumerate(cell._mixed):
            d = np.zeros(len(CANDIDATES))
            if k == 0 and not cell.reduction:
                d[CANDIDATES.index("none")] = 3
            elif k == 1 and cell.reduction:
                d[CANDIDATES.index("max_pool_3x3")] = 3
            else:
                d[CANDIDATES.index("sep_conv_3x3")] = 3
            mixed._alpha.d = d.reshape(-1, 1, 1, 1, 1)
    net.save_arch(str(folder))
    return net


def test_search_defaults_are_sampled_and_unshared():
    net = pnas.SearchNet(1, 2, 3, 4, num_choices=2, multiplier=2)
    mixed = [m for c in net.cells for m in c._mixed]
    assert all(m.mode == "sample" for m in mixed)
    assert len({id(m._alpha) for m in mixed}) == len(mixed) == 15


def test_arch_json_is_the_network_train_net_builds(tmp_path):
    planted(tmp_path)
    genotype = json.loads((tmp_path / "arch.json").read_text())
    normal0 = genotype["normal"][0]
    assert [e["input"] for e in normal0] == [1]  # edge 0 chose none: dropped
    assert all(e["op"] == "sep_conv_3x3" for node in genotype["normal"] for e in node)
    assert genotype["reduce"][0][1]["op"] == "max_pool_3x3"
    # Retrain with more cells than the search had: probabilities per cell type.
    net = pnas.TrainNet(1, 4, 5, 4, str(tmp_path / "arch.h5"), num_choices=2, multiplier=2,
                        sampling="edges")
    assert net.genotype() == genotype
    assert (tmp_path / "normal.png").is_file()


def test_nodes_sampling_retrains_two_inputs_per_node(tmp_path):
    """With ``sampling="nodes"`` the export and the retrained network keep the
    two strongest non-none inputs of every node, as the search's paths had."""
    planted(tmp_path, sampling="nodes")
    genotype = json.loads((tmp_path / "arch.json").read_text())
    for cell in ("normal", "reduce"):
        assert all(len(node) == 2 for node in genotype[cell])
    # Node 0 has two inputs only: the edge that favours none is kept, with its
    # strongest other operation; node 1's inputs all favour sep_conv_3x3.
    assert sorted(e["input"] for e in genotype["normal"][0]) == [0, 1]
    assert all(e["op"] == "sep_conv_3x3" for e in genotype["normal"][1])
    assert any(e["op"] == "max_pool_3x3" for e in genotype["reduce"][0])
    net = pnas.TrainNet(1, 4, 5, 4, str(tmp_path / "arch.h5"), num_choices=2, multiplier=2,
                        sampling="nodes")
    assert net.genotype() == genotype


def test_train_net_errors(tmp_path):
    with pytest.raises(ValueError, match="nope.h5' does not exist"):
        pnas.TrainNet(1, 4, 3, 4, str(tmp_path / "nope.h5"), num_choices=2, multiplier=2)
    planted(tmp_path)
    with pytest.raises(ValueError, match="does not fit a search network with 3 nodes"):
        pnas.TrainNet(1, 4, 3, 4, str(tmp_path / "arch.h5"), num_choices=3, multiplier=2)
    saved = load_h5_parameters(str(tmp_path / "arch.h5"))
    key = next(iter(saved))

    class Array:  # a Variable-like holder for save_h5_parameters
        def __init__(self, d):
            self.d, self.need_grad = d, True

    bad = {k: Array(v[:5] if k == key else v) for k, v in saved.items()}
    save_h5_parameters(str(tmp_path / "bad.h5"), bad)
    with pytest.raises(ValueError, match="a different candidate set"):
        pnas.TrainNet(1, 4, 3, 4, str(tmp_path / "bad.h5"), num_choices=2, multiplier=2)


def test_shared_kernels_a_sampled_3x3_step_trains_the_centre_of_the_5x5_kernels():
    """A weight step through a path that drew ``sep_conv_3x3`` on an edge moves
    the centres of that edge's ``sep_conv_5x5`` depthwise kernels (and its
    pointwise convolutions) and nothing else of it; edges that drew neither
    keep their weights."""
    import nnabla as nn

    from nnabla_nas.optimizer import Optimizer
    from nnabla_nas.runner.graph import build_graph

    np.random.seed(0)
    net = pnas.SearchNet(3, 4, 2, 10, num_choices=2, multiplier=2, share_kernels=True)
    sep3, sep5 = CANDIDATES.index("sep_conv_3x3"), CANDIDATES.index("sep_conv_5x5")
    for cell in net.cells:  # sep_conv_3x3 on half of the edges, pools on the others
        for k, mixed in enumerate(cell._mixed):
            d = np.full(len(CANDIDATES), -30.0)
            d[sep3 if k % 2 == 0 else CANDIDATES.index("max_pool_3x3")] = 0.0
            mixed.alpha.d = d.reshape(mixed.alpha.shape)
    weights = {k: v for k, v in net.get_net_parameters().items() if v.need_grad}
    before = {k: v.d.copy() for k, v in weights.items()}
    graph = build_graph(net, 2, (3, 8, 8))
    opt = Optimizer(name="Sgd", lr=0.5)
    opt.set_parameters(net.get_net_parameters(grad_only=True))
    rng = np.random.RandomState(0)
    graph.feed((rng.randn(2, 3, 8, 8).astype(np.float32), np.array([[1], [2]])))
    for p in net.get_net_parameters().values():
        p.grad.zero()
    graph.forward()
    graph.loss.backward()
    opt.update()
    moved = {k for k, v in weights.items() if not np.array_equal(v.d, before[k])}
    drew_sep3 = 0
    for c, cell in enumerate(net.cells):
        for k, mixed in enumerate(cell._mixed):
            owner = f"cells/{c}/_mixed/{k}/_ops/{sep5}/"
            mine = {n for n in before if n.startswith(owner)}
            assert not any(n.startswith(f"cells/{c}/_mixed/{k}/_ops/{sep3}/") for n in before)
            if mixed.active_index == sep3:
                drew_sep3 += 1
                assert mine and mine <= moved, owner
                for n in mine:
                    if before[n].ndim == 3:  # a depthwise 5x5 kernel: only its centre moves
                        border = np.ones((5, 5), bool)
                        border[1:4, 1:4] = False
                        np.testing.assert_array_equal(weights[n].d[:, border],
                                                      before[n][:, border])
            else:
                assert not mine & moved, owner
    assert drew_sep3 >= 3
