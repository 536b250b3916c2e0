"""`build_run`: the registries build data, model, optimizers and runner from a
validated config, filling in what the data decides."""

import pytest

from nnabla_nas.cli.build import DEFAULT_OPTIMIZERS, build_run
from nnabla_nas.cli.config import validate_config
from nnabla_nas.runner import ProxylessNasSearcher, Trainer
from nnabla_nas.utils.estimator import MemoryEstimator
from nnabla_nas.utils.registry import ConfigError

SEARCH = {
    "dataloader": {"digits": {"train_portion": 0.5}},
    "network": {"darts": {"init_channels": 2, "num_cells": 3}},
    "hparams": {"epoch": 2, "warmup": 1, "batch_size_train": 64, "batch_size_valid": 64},
}


def test_search_run_fills_data_arguments_and_default_optimizers(tmp_path):
    config = validate_config(SEARCH, "DartsSearcher")
    config.hparams.output_path = str(tmp_path)
    run = build_run(config)
    net = config.network_options
    assert (net["in_channels"], net["num_classes"], net["mode"]) == (1, 10, "full")
    assert config.hparams.input_shapes == [[1, 8, 8]]
    assert config.optimizer == {k: DEFAULT_OPTIMIZERS[k] for k in ("train", "valid")}
    # Schedules span the run: train covers warmup + search, valid the search.
    steps = run.runner.steps_per_epoch()
    train = run.runner.optimizer["train"]
    assert train._scheduler.max_iter == steps * 3
    assert run.runner.optimizer["valid"].learning_rate() == pytest.approx(3e-4)
    resolved = config.to_dict()
    assert resolved["hparams"]["epoch"] == 2 and "n_iter" not in resolved["hparams"]


def test_algorithm_options_and_regularizers_reach_the_searcher(tmp_path):
    cfg = dict(SEARCH, network={"pnas": {"init_channels": 2, "num_cells": 3}},
               optimizer={"regularizer": {"MemoryEstimator": {"weight": 0.5, "bound": 2.0}}},
               hparams=dict(SEARCH["hparams"], n_iter=3, reward="loss"))
    config = validate_config(cfg, "ProxylessNasSearcher")
    config.hparams.output_path = str(tmp_path)
    runner = build_run(config).runner
    assert isinstance(runner, ProxylessNasSearcher)
    assert (runner.n_iter, runner.reward, runner.baseline_decay) == (3, "loss", 0.95)
    estimator, = runner.regularizer.values()
    assert isinstance(estimator, MemoryEstimator) and estimator.bound == 2.0
    assert config.to_dict()["hparams"]["n_iter"] == 3
    assert config.to_dict()["optimizer"]["regularizer"] == {
        "MemoryEstimator": {"weight": 0.5, "bound": 2.0}}


def test_train_run_drops_search_optimizers_and_checks_the_data(tmp_path):
    cfg = {"dataloader": {"digits": {}},
           "network": {"mobilenet": {"num_classes": 3}},
           "optimizer": {"valid": {"name": "Adam"}},
           "hparams": {"epoch": 1}}
    config = validate_config(cfg, "Trainer")
    with pytest.raises(ConfigError, match=r"network.mobilenet.num_classes: 3 does not match "
                                          r"the data \(10 from dataloader.digits\)"):
        build_run(config)
    cfg["network"]["mobilenet"] = {"settings": [[8, 1, 1]]}
    config = validate_config(cfg, "Trainer")
    config.hparams.output_path = str(tmp_path)
    run = build_run(config)
    assert isinstance(run.runner, Trainer) and set(run.runner.optimizer) == {"train"}
