"""`Hparams`: defaults, derived values and one-line errors."""

import pytest

from nnabla_nas.runner.hparams import Hparams
from nnabla_nas.utils.registry import ConfigError


def test_mini_batches_default_to_the_batch_and_set_accumulation():
    hp = Hparams(batch_size_train=64, batch_size_valid=32, mini_batch_train=16)
    assert (hp.mini_batch_train, hp.mini_batch_valid) == (16, 32)
    assert (hp.accum_train, hp.accum_valid) == (4, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"epoch": 0}, r"hparams.epoch: must be at least 1, got 0"),
    ({"warmup": -1}, r"hparams.warmup: must be 0 or more"),
    ({"batch_size_train": 30, "mini_batch_train": 8},
     r"hparams.mini_batch_train: 8 does not divide batch_size_train \(30\)"),
    ({"epoch": 1.5}, r"hparams.epoch: expected an integer, got 1.5"),
    ({"recompute": "yes"}, r"hparams.recompute: expected true, false or null"),
    ({"loss_weights": []}, r"hparams.loss_weights: expected a list of numbers"),
    ({"input_shapes": [[3, 0, 32]]}, r"hparams.input_shapes: expected a list of shapes"),
])
def test_bad_values_name_the_key(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Hparams(**kwargs)


def test_from_dict_rejects_unknown_keys_and_accepts_integer_device_ids():
    with pytest.raises(ConfigError, match=r"hparams: unknown key 'epochs' \(did you mean 'epoch'"):
        Hparams.from_dict({"epochs": 3})
    assert Hparams.from_dict({"device_id": 1}).device_id == "1"


def test_to_dict_round_trips():
    hp = Hparams(epoch=3, warmup=2, loss_weights=[1.0, 0.4])
    assert Hparams.from_dict({k: v for k, v in hp.to_dict().items()}) == hp
