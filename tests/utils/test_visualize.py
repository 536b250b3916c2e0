"""Tests of `nnabla_nas.utils.visualize`: the cell picture and the Graphviz file."""

import os

import matplotlib.image as mpimg
import numpy as np
import pytest

from nnabla_nas.utils.visualize import draw_cell, write_dot

CELL = [
    [{"op": "sep_conv_3x3", "input": 0, "prob": 0.312}, {"op": "skip_connect", "input": 1}],
    [{"op": "dil_conv_5x5", "input": 2, "prob": 0.25}, {"op": "max_pool_3x3", "input": 0}],
    [{"op": "avg_pool_3x3", "input": 3, "prob": 0.2}, {"op": "sep_conv_5x5", "input": 1}],
]


def test_draw_cell_writes_a_png(tmp_path):
    path = str(tmp_path / "normal.png")
    draw_cell(CELL, path, title="normal cell")
    image = mpimg.imread(path)
    height, width = image.shape[:2]
    assert width > height > 200                   # laid out left to right
    assert image[..., :3].std() > 0.05            # not blank
    assert os.listdir(tmp_path) == ["normal.png"]  # no temporary file left


def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    path = tmp_path / "normal.png"
    path.write_bytes(b"old")

    def broken_savefig(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"half a picture")
        raise OSError("disk full")
    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        draw_cell(CELL, str(path))
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["normal.png"]


def test_write_dot(tmp_path):
    path = str(tmp_path / "normal.dot")
    write_dot(CELL, path, concat=[1, 2])
    text = open(path).read()
    assert text.startswith("digraph cell {") and text.rstrip().endswith("}")
    assert '"c_{k-2}" -> "0" [label="sep_conv_3x3 (0.31)"];' in text
    assert '"c_{k-1}" -> "0" [label="skip_connect"];' in text
    assert '"0" -> "1" [label="dil_conv_5x5 (0.25)"];' in text
    assert '"1" -> "2" [label="avg_pool_3x3 (0.20)"];' in text
    outputs = [line for line in text.splitlines() if '-> "c_{k}"' in line]
    assert [line.split()[0] for line in outputs] == ['"1"', '"2"']
    assert text.count("->") == 6 + 2


def test_pictures_differ_with_the_genotype(tmp_path):
    draw_cell(CELL, str(tmp_path / "a.png"))
    other = [list(reversed(node)) for node in CELL]
    other[0][0] = {"op": "none", "input": 1}
    draw_cell(other, str(tmp_path / "b.png"))
    a, b = mpimg.imread(str(tmp_path / "a.png")), mpimg.imread(str(tmp_path / "b.png"))
    assert a.shape == b.shape and not np.array_equal(a, b)
