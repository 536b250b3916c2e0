"""Tests of the genotype export (`parse_cell`) and the checked import of ``arch.json``."""

import json

import numpy as np
import pytest

from nnabla_nas.contrib.classification.darts import CANDIDATES
from nnabla_nas.contrib.classification.darts.genotype import (load_genotype, make_genotype,
                                                              num_edges, parse_cell,
                                                              save_genotype)

NONE, SEP3, SKIP = (CANDIDATES.index(n) for n in ("none", "sep_conv_3x3", "skip_connect"))


def uniform(num_nodes=4):
    return np.full((num_edges(num_nodes), len(CANDIDATES)), 1.0 / len(CANDIDATES))


def test_num_edges():
    assert [num_edges(n) for n in (1, 2, 3, 4, 5)] == [2, 5, 9, 14, 20]


def test_parse_keeps_two_strongest_edges_ignoring_none():
    probs = uniform(2)
    probs[2 + 0] = 0.0          # node 1, input 0: "none" dominates
    probs[2 + 0, NONE] = 0.9
    probs[2 + 0, SEP3] = 0.1
    probs[2 + 1, SKIP] = 0.5    # node 1, input 1
    probs[2 + 2, SEP3] = 0.3    # node 1, input 2 (node 0)
    cell = parse_cell(probs, 2)
    assert cell[1] == [{"op": "skip_connect", "input": 1, "prob": 0.5},
                       {"op": "sep_conv_3x3", "input": 2, "prob": 0.3}]
    # Ties (uniform) go to the lowest input and the lowest op index.
    assert [(e["op"], e["input"]) for e in cell[0]] == [("dil_conv_3x3", 0),
                                                        ("dil_conv_3x3", 1)]


def test_none_is_never_chosen_even_when_it_dominates_everywhere():
    probs = np.full((num_edges(4), len(CANDIDATES)), 0.01)
    probs[:, NONE] = 0.93
    cell = parse_cell(probs, 4)
    assert all(e["op"] != "none" for node in cell for e in node)
    assert [len(node) for node in cell] == [2, 2, 2, 2]


def test_edge_weights_rank_edges_by_op_probability_times_edge_weight():
    """PC-DARTS' genotype: a node keeps the inputs with the largest
    ``max_op p(op) * w(edge)``, the operation still the argmax of ``p``."""
    probs = uniform(2)
    probs[2 + 0, SEP3] = 0.5    # node 1, input 0: the strongest operation...
    probs[2 + 1, SKIP] = 0.4    # node 1, input 1
    probs[2 + 2, SEP3] = 0.3    # node 1, input 2
    weights = np.array([0.5, 0.5, 0.1, 0.3, 0.6])  # ...on the weakest edge
    assert [e["input"] for e in parse_cell(probs, 2)[1]] == [0, 1]
    # By hand: 0.5 * 0.1 = 0.05, 0.4 * 0.3 = 0.12, 0.3 * 0.6 = 0.18 -> inputs 2, 1.
    cell = parse_cell(probs, 2, edge_weights=weights)
    assert cell[1] == [{"op": "skip_connect", "input": 1, "prob": 0.4, "edge_weight": 0.3},
                       {"op": "sep_conv_3x3", "input": 2, "prob": 0.3, "edge_weight": 0.6}]
    assert all(set(e) == {"op", "input", "prob", "edge_weight"} for e in cell[0])
    genotype = make_genotype(probs, uniform(2), 2, weights, np.full(5, 0.5))
    assert genotype["normal"] == cell
    assert load_genotype(genotype, 2) is genotype  # the extra key is accepted


def test_save_load_round_trip(tmp_path):
    normal, reduce = uniform(), uniform()
    normal[0, SEP3] = 0.5
    genotype = make_genotype(normal, reduce, 4)
    path = str(tmp_path / "arch.json")
    save_genotype(genotype, path)
    assert json.load(open(path)) == genotype
    assert load_genotype(path, 4) == genotype
    assert load_genotype(genotype, 4) is genotype
    assert genotype["normal"][0][0] == {"op": "sep_conv_3x3", "input": 0, "prob": 0.5}


def write(tmp_path, content):
    path = tmp_path / "arch.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


@pytest.mark.parametrize("edit, message", [
    (lambda g: g["normal"][1][0].update(op="conv_9x9"),
     r"'normal' cell, node 1: unknown op 'conv_9x9'; valid ops: dil_conv_3x3"),
    (lambda g: g["reduce"][0][1].update(input=2),
     r"'reduce' cell, node 0: input 2 is not one of 0..1"),
    (lambda g: g["reduce"].pop(),
     r"'reduce' cell: has 3 nodes, but the network has num_choices=4"),
    (lambda g: g.pop("normal"), r"has no 'normal' cell"),
    (lambda g: g.update(num_nodes=5), r"has num_nodes=5, but the network has num_choices=4"),
    (lambda g: g["normal"][2].clear(), r"node 2: expected a non-empty list of edges"),
    (lambda g: g["normal"][2].append("skip"), r"node 2: an edge must be an object"),
])
def test_bad_genotype_files_get_one_line_errors(tmp_path, genotype, edit, message):
    edit(genotype)
    path = write(tmp_path, genotype)
    with pytest.raises(ValueError, match=message) as info:
        load_genotype(path, 4)
    assert f"genotype file '{path}'" in str(info.value) and "\n" not in str(info.value)


def test_missing_and_malformed_files(tmp_path):
    missing = str(tmp_path / "nope.json")
    with pytest.raises(ValueError, match=f"genotype file '{missing}' does not exist"):
        load_genotype(missing, 4)
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_genotype(write(tmp_path, '{"normal": [,]}'), 4)
    with pytest.raises(ValueError, match="must hold a JSON object"):
        load_genotype(write(tmp_path, "[1, 2]"), 4)


def test_node_count_mismatch_with_fewer_choices(genotype):
    with pytest.raises(ValueError, match="genotype <dict>.*num_choices=3"):
        load_genotype(genotype, 3)
