"""Tests for nnabla_nas.dataset.registry, parametrised over every registered dataset."""

import inspect

import pytest

from nnabla_nas.dataset import DATASETS, build_dataset
from nnabla_nas.utils.registry import ConfigError

SPLIT_DEFAULTS = {"train_portion": 0.5, "valid_portion": 0.1, "seed": 0}


def test_builtin_datasets_are_registered():
    assert {"cifar10", "digits", "npz"} <= set(DATASETS.names())


@pytest.mark.parametrize("name", DATASETS.names())
def test_builder_accepts_common_split_options(name):
    params = inspect.signature(DATASETS.get(name)).parameters
    for key, default in SPLIT_DEFAULTS.items():
        assert params[key].default == default and type(params[key].default) is type(default)


@pytest.mark.parametrize("name", DATASETS.names())
@pytest.mark.parametrize("key", ["train_portion", "valid_portion"])
def test_builder_rejects_portion_out_of_range(name, key, tmp_path):
    options = {key: 1.5}
    if name == "npz":
        options["path"] = str(tmp_path / "absent.npz")
    with pytest.raises(ConfigError, match=f"dataloader.{name}.{key}"):
        build_dataset({name: options})


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown dataset 'cifar11'.*cifar10.*digits"):
        build_dataset({"cifar11": {}})


def test_section_must_name_one_dataset():
    with pytest.raises(ConfigError, match="exactly one dataset"):
        build_dataset({"digits": {}, "cifar10": {}})


def test_option_type_is_checked():
    with pytest.raises(ConfigError, match="dataloader.digits.train_portion: expected a number"):
        build_dataset({"digits": {"train_portion": "half"}})
