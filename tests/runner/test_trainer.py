"""`Trainer`: selects weights on the validation split, reports the test split once."""

import json
import os

import numpy as np
import pytest

from nnabla_nas.runner import Trainer
from nnabla_nas.utils.io import load_h5_parameters

from .conftest import TinyNet, tiny_loaders, tiny_optimizers


def trainer(hparams, net=None):
    net = net or TinyNet()
    net.choice.mode = "max"
    loaders = tiny_loaders(splits=("train", "valid", "test"))
    return Trainer(net, tiny_optimizers(search=False), loaders, hparams)


def test_best_weights_are_chosen_on_valid_and_tested_once(hparams):
    hparams.epoch = 3
    t = trainer(hparams)
    tested = []
    evaluate = t.evaluate
    t.evaluate = lambda split: tested.append(split) or evaluate(split)
    summary = t.run()
    assert tested == ["valid"] * 3 + ["test"]
    rows = [line.split(",") for line in open(os.path.join(hparams.output_path,
                                                          "metrics.csv")).read().splitlines()[1:]]
    valid = {int(r[0]): float(r[3]) for r in rows if r[1] == "valid"}
    best = min(valid, key=lambda e: (valid[e], e))
    assert summary["best_epoch"] == best
    assert summary["valid_error"] == pytest.approx(valid[best], abs=1e-6)
    results = json.load(open(os.path.join(hparams.output_path, "results.json")))
    assert results["test_accuracy"] == pytest.approx(1 - results["test_error"])
    # The model ends with the chosen weights, which weights.h5 holds.
    saved = load_h5_parameters(os.path.join(hparams.output_path, "weights.h5"))
    for name, p in t.model.get_parameters().items():
        np.testing.assert_array_equal(saved[name], p.d)


def test_drop_path_probability_grows_linearly(hparams):
    hparams.epoch = 2
    net = TinyNet()
    net.drop_path_prob = 0.4
    t = trainer(hparams, net)
    seen = []
    step = t.train_step
    t.train_step = lambda phase: seen.append(net.drop_path_prob) or step(phase)
    t.run()
    assert sorted(set(seen)) == [0.0, 0.2]
