"""`Searcher`: warmup trains weights only, search alternates both steps, and
every epoch exports the architecture."""

import csv
import os

import numpy as np

from nnabla_nas.runner.searcher import Searcher

from .conftest import TinyNet, tiny_loaders, tiny_optimizers


class Alternating(Searcher):
    """Records which step ran; the steps are real first-order updates."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = []

    def train_on_batch(self, warmup=False):
        self.log.append(("weights", self.epoch, warmup))
        return self.weight_update(self.weight_optimizer(warmup), "train", 1, key="search")

    def valid_on_batch(self):
        self.log.append(("arch", self.epoch))
        return 0.5, 0.25


def test_warmup_then_alternating_steps(hparams):
    hparams.warmup = 1
    searcher = Alternating(TinyNet(), tiny_optimizers(), tiny_loaders(), hparams)
    alpha = searcher.model.choice.alpha.d.copy()
    weights = searcher.model.head._W.d.copy()
    summary = searcher.run()
    assert summary["epochs"] == 3
    assert searcher.log[:4] == [("weights", 0, True)] * 4  # warmup: weights only
    assert searcher.log[4:8] == [("weights", 1, False), ("arch", 1)] * 2
    assert len(searcher.log) == 4 + 2 * 8
    assert not np.array_equal(weights, searcher.model.head._W.d)  # warmup trains
    assert np.array_equal(alpha, searcher.model.choice.alpha.d)  # no arch update here
    out = hparams.output_path
    for name in ("arch.h5", "weights.h5", "results.json", "metrics.csv", "curves.png"):
        assert os.path.isfile(os.path.join(out, name)), name
    with open(os.path.join(out, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [(r["epoch"], r["split"], r["extra"]) for r in rows] == [
        ("1", "train", "warmup"), ("2", "train", "search"), ("2", "valid", "search"),
        ("3", "train", "search"), ("3", "valid", "search")]
    assert float(rows[2]["error"]) == 0.25


def test_warmup_optimizer_is_used_when_given(hparams):
    opts = tiny_optimizers()
    searcher = Alternating(TinyNet(), opts, tiny_loaders(), hparams)
    assert searcher.weight_optimizer(True) is opts["train"]
    opts["warmup"] = object()
    assert searcher.weight_optimizer(True) is opts["warmup"]
    assert searcher.weight_optimizer(False) is opts["train"]
