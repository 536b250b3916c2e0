"""Tests for nnabla_nas.dataset.data: ImageData, splits and make_loaders."""

import numpy as np
import pytest

from nnabla_nas.dataset.data import (ImageData, channel_stats, check_split_options,
                                     make_loaders, split_indices, stratified_split)
from nnabla_nas.utils.registry import ConfigError


def indexed_data(n=100, n_test=20, augment=None, **split):
    """Training image i has every pixel equal to i (test images to 200 + i)."""
    def images(values):
        return np.broadcast_to(values.astype(np.uint8)[:, None, None, None],
                               (len(values), 4, 4, 1)).copy()
    return ImageData(name="toy", train_x=images(np.arange(n)), train_y=np.arange(n) % 10,
                     test_x=images(200 + np.arange(n_test)), test_y=np.arange(n_test) % 10,
                     mean=(0.0,), std=(1.0,), augment=augment, **split)


def loader_indices(loader):
    return np.concatenate([np.rint(x[:, 0, 0, 0] * 255).astype(int) for x, _ in loader.epoch()])


def test_image_data_properties():
    data = indexed_data()
    assert data.shape == (1, 4, 4)
    assert data.num_classes == 10
    assert (data.train_portion, data.valid_portion, data.split_seed) == (0.5, 0.1, 0)


def test_image_data_rejects_float_images():
    with pytest.raises(ValueError, match="train_x must be uint8"):
        ImageData(name="bad", train_x=np.zeros((2, 4, 4, 1), np.float32),
                  train_y=np.zeros(2, np.int64), test_x=np.zeros((1, 4, 4, 1), np.uint8),
                  test_y=np.zeros(1, np.int64), mean=(0,), std=(1,))


@pytest.mark.parametrize("key", ["train_portion", "valid_portion"])
@pytest.mark.parametrize("value", [0.0, 1.0, -0.2, 1.5])
def test_portions_outside_open_interval_raise(key, value):
    options = {"train_portion": 0.5, "valid_portion": 0.1, key: value}
    with pytest.raises(ConfigError) as err:
        check_split_options("cifar10", **options)
    message = str(err.value)
    assert f"dataloader.cifar10.{key}" in message and "between 0 and 1" in message
    assert "\n" not in message


@pytest.mark.parametrize("mode,portion,expected_train", [("search", 0.3, 30),
                                                         ("train", 0.25, 75)])
def test_split_indices_disjoint_and_covering(mode, portion, expected_train):
    parts = split_indices(100, mode, train_portion=portion, valid_portion=portion, seed=4)
    train, valid = parts["train"], parts["valid"]
    assert len(train) == expected_train
    assert len(np.intersect1d(train, valid)) == 0
    np.testing.assert_array_equal(np.union1d(train, valid), np.arange(100))
    again = split_indices(100, mode, portion, portion, seed=4)
    np.testing.assert_array_equal(again["train"], train)
    other = split_indices(100, mode, portion, portion, seed=5)
    assert not np.array_equal(other["train"], train)


def test_split_indices_unknown_mode():
    with pytest.raises(ValueError, match="unknown mode 'eval'"):
        split_indices(10, "eval", 0.5, 0.1, 0)


def test_stratified_split_per_class():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    first, second = stratified_split(labels, 0.2, seed=0)
    assert np.bincount(labels[second]).tolist() == [2, 4, 6, 8]
    assert len(np.intersect1d(first, second)) == 0
    np.testing.assert_array_equal(np.union1d(first, second), np.arange(100))


def test_channel_stats_matches_numpy():
    images = np.random.RandomState(0).randint(0, 256, size=(5, 3, 3, 2)).astype(np.uint8)
    mean, std = channel_stats(images)
    np.testing.assert_allclose(mean, (images / 255.0).mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(std, (images / 255.0).std(axis=(0, 1, 2)))
    assert channel_stats(np.zeros((2, 2, 2, 1), np.uint8))[1] == (1.0,)


def test_search_loaders_are_disjoint_cover_the_training_set_and_skip_test():
    marker = lambda batch, rng: np.full_like(batch, 255)  # noqa: E731
    data = indexed_data(augment=marker, train_portion=0.6, split_seed=2)
    loaders = make_loaders(data, "search", mini_batch_train=8, mini_batch_valid=8, seed=0)
    assert set(loaders) == {"train", "valid"}
    train, valid = loader_indices(loaders["train"]), loader_indices(loaders["valid"])
    assert len(train) == 60 and len(valid) == 40
    assert len(np.intersect1d(train, valid)) == 0
    np.testing.assert_array_equal(np.union1d(train, valid), np.arange(100))
    np.testing.assert_array_equal(train, split_indices(100, "search", 0.6, 0.1, 2)["train"])
    assert np.all(loaders["train"].next()[0] == 1.0)  # train is augmented
    valid_x, _ = loaders["valid"].next()
    assert not np.all(valid_x == 1.0)  # valid is not
    streamed = np.concatenate([np.rint(loaders["valid"].next()[0][:, 0, 0, 0] * 255)
                               for _ in range(4)])
    assert not np.array_equal(np.sort(streamed), streamed)  # valid is shuffled


def test_train_loaders_hold_out_valid_and_keep_test_ordered():
    data = indexed_data(valid_portion=0.2)
    loaders = make_loaders(data, "train", mini_batch_train=16, mini_batch_valid=64, seed=0)
    assert set(loaders) == {"train", "valid", "test"}
    train, valid = loader_indices(loaders["train"]), loader_indices(loaders["valid"])
    assert len(train) == 80 and len(valid) == 20
    assert len(np.intersect1d(train, valid)) == 0
    assert loaders["valid"].batch_size == 20 and loaders["test"].batch_size == 20
    x, _ = loaders["valid"].next()
    np.testing.assert_array_equal(np.rint(x[:, 0, 0, 0] * 255), valid)  # not shuffled
    np.testing.assert_array_equal(loader_indices(loaders["test"]), 200 + np.arange(20))


def test_split_smaller_than_batch_is_a_config_error():
    data = indexed_data(train_portion=0.9)
    with pytest.raises(ConfigError, match=r"toy\.train_portion=0\.9 leaves 10 of 100"):
        make_loaders(data, "search", mini_batch_train=8, mini_batch_valid=16)
