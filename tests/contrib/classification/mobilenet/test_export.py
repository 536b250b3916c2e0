"""Tests of the MobileNetV2 genotype and its exports: ``arch.h5``, ``arch.json``
(argmax of alpha) and ``arch.png``."""

import json
import os

import numpy as np
import pytest

from nnabla_nas.contrib.classification.mobilenet import SKIP, SearchNet
from nnabla_nas.contrib.classification.mobilenet.export import draw_genotype, save_genotype
from nnabla_nas.utils.io import load_h5_parameters

from .conftest import TINY, make_input, plant

PNG = b"\x89PNG\r\n\x1a\n"


def test_planted_alpha_is_exported(tmp_path):
    net = SearchNet(10, settings=TINY)
    plant(net, [6, 4, 0, 5], value=3.0)          # skip, MB6 5x5, MB3 3x3, MB6 7x7
    folder = str(tmp_path / "out")
    net.save_arch(folder)
    assert sorted(os.listdir(folder)) == ["arch.h5", "arch.json", "arch.png"]
    with open(os.path.join(folder, "arch.json")) as f:
        exported = json.load(f)
    p7, p6 = np.exp(3) / (np.exp(3) + 6), np.exp(3) / (np.exp(3) + 5)
    assert exported == [
        {"block": 0, "op": SKIP, "expansion": None, "kernel": None, "in_channels": 16,
         "out_channels": 16, "stride": 1, "prob": round(p7, 6)},
        {"block": 1, "op": "MB6 5x5", "expansion": 6, "kernel": 5, "in_channels": 16,
         "out_channels": 8, "stride": 1, "prob": round(p6, 6)},
        {"block": 2, "op": "MB3 3x3", "expansion": 3, "kernel": 3, "in_channels": 8,
         "out_channels": 16, "stride": 2, "prob": round(p6, 6)},
        {"block": 3, "op": "MB6 7x7", "expansion": 6, "kernel": 7, "in_channels": 16,
         "out_channels": 16, "stride": 1, "prob": round(p7, 6)},
    ]
    assert exported == net.genotype()
    saved = load_h5_parameters(os.path.join(folder, "arch.h5"))
    assert list(saved) == list(net.get_arch_parameters())
    for block, alpha in zip(net.blocks, saved.values()):
        np.testing.assert_array_equal(alpha, block._alpha.d)
    with open(os.path.join(folder, "arch.png"), "rb") as f:
        assert f.read(8) == PNG


def test_export_is_the_argmax_not_the_last_sample():
    np.random.seed(0)
    net = SearchNet(10, width_mult=0.25, settings=[[8, 6, 1]], candidates=["MB3 3x3",
                                                                           "MB6 3x3"])
    plant(net, [1] * 6, value=0.5)               # argmax MB6 3x3 with p = 0.45 (skip: 0.27)
    y = net(make_input((1, 3, 8, 8)))
    y.forward()
    sampled = [block.active_index for block in net.blocks]
    assert any(index != 1 for index in sampled)  # some block sampled another candidate
    assert [entry["op"] for entry in net.genotype()] == ["MB6 3x3"] * 6


def test_ties_go_to_the_first_candidate():
    net = SearchNet(10, settings=TINY, candidates=["MB6 5x5", "MB3 7x7"])
    assert [entry["op"] for entry in net.genotype()] == ["MB3 7x7"] * 4
    assert [entry["prob"] for entry in net.genotype()] == [0.333333, 0.5, 0.5, 0.333333]


def test_save_genotype_writes_one_block_per_line(tmp_path):
    net = SearchNet(10, settings=TINY)
    path = str(tmp_path / "arch.json")
    save_genotype(net.genotype(), path)
    lines = open(path).read().splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 2 + 4
    assert json.loads(lines[1].rstrip(",")) == net.genotype()[0]


@pytest.mark.parametrize("title", ["", "argmax"])
def test_draw_genotype_writes_a_png_atomically(tmp_path, title):
    genotype = SearchNet(10, settings=TINY).genotype()
    genotype[0].update(op=SKIP, expansion=None, kernel=None)
    genotype[1]["prob"] = None                   # e.g. a TrainNet's plain MobileNetV2
    path = tmp_path / "arch.png"
    draw_genotype(genotype, str(path), title=title)
    assert path.read_bytes()[:8] == PNG
    assert os.listdir(tmp_path) == ["arch.png"]  # no temporary file left behind
