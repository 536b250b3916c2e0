"""`checkpoint`: what a checkpoint restores, and its commit point."""

import json
import os

import numpy as np
import pytest

from nnabla_nas.runner import checkpoint

from .conftest import TinyNet, tiny_loaders, tiny_optimizers
from .test_search import Alternating


def searcher(hparams):
    return Alternating(TinyNet(), tiny_optimizers(), tiny_loaders(), hparams)


def test_load_restores_parameters_solvers_loaders_and_random_states(hparams):
    live = searcher(hparams)
    for _ in range(3):
        live.train_on_batch()
    live.step = 3
    live.save_checkpoint()
    numpy_state = np.random.get_state()[1].copy()
    fresh = searcher(hparams)
    for _ in range(2):  # move its data order and random states elsewhere
        fresh.dataloader["train"].next()
        fresh.model.choice.rng.rand()
    np.random.seed(5)
    assert checkpoint.load(fresh)
    for (name, a), b in zip(live.model.get_parameters().items(),
                            fresh.model.get_parameters().values()):
        np.testing.assert_array_equal(a.d, b.d, err_msg=name)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    assert fresh.optimizer["train"].iteration == 3
    assert fresh.step == 3
    for split in ("train", "valid"):
        np.testing.assert_array_equal(live.dataloader[split].next()[0],
                                      fresh.dataloader[split].next()[0])
    assert live.model.choice.rng.randint(1 << 30) == fresh.model.choice.rng.randint(1 << 30)
    # The next updates are the same.
    live.train_on_batch()
    fresh.train_on_batch()
    np.testing.assert_array_equal(live.model.head._W.d, fresh.model.head._W.d)


def test_each_save_replaces_the_files_of_the_last(hparams):
    runner = searcher(hparams)
    runner.save_checkpoint()
    folder = os.path.join(hparams.output_path, checkpoint.FOLDER)
    first = set(os.listdir(folder))
    runner.step = 2
    runner.save_checkpoint()
    second = set(os.listdir(folder))
    state = json.load(open(os.path.join(folder, checkpoint.STATE)))
    assert second == set(state["files"].values()) | {checkpoint.STATE}
    assert first != second and checkpoint.exists(hparams.output_path)


def test_a_checkpoint_of_another_network_is_refused(hparams):
    searcher(hparams).save_checkpoint()
    other = searcher(hparams)
    state = checkpoint.read_state(hparams.output_path)
    state["module_rngs"].append(state["module_rngs"][0])
    with open(os.path.join(hparams.output_path, checkpoint.FOLDER, checkpoint.STATE), "w") as f:
        json.dump(state, f)
    with pytest.raises(ValueError, match="written by a different network"):
        checkpoint.load(other)


def test_no_checkpoint_loads_nothing(hparams):
    assert not checkpoint.load(searcher(hparams))
