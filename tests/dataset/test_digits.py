"""Tests for nnabla_nas.dataset.digits (scikit-learn's bundled 8x8 digits)."""

import numpy as np
import pytest

from nnabla_nas.dataset import make_loaders
from nnabla_nas.dataset.data import channel_stats
from nnabla_nas.dataset.digits import digits
from nnabla_nas.utils.registry import ConfigError


@pytest.fixture(scope="module")
def data():
    return digits()


def test_shapes_dtypes_and_sizes(data):
    assert data.train_x.dtype == np.uint8 and data.train_y.dtype == np.int64
    assert data.shape == (1, 8, 8) and data.num_classes == 10
    assert len(data.train_x) + len(data.test_x) == 1797
    assert len(data.test_x) == pytest.approx(0.2 * 1797, abs=10)
    assert data.train_x.max() == 255 and data.train_x.min() == 0


def test_pixels_are_rescaled_sklearn_digits(data):
    from sklearn.datasets import load_digits
    reference = np.round(load_digits().images * 255 / 16).astype(np.uint8)
    ours = np.concatenate([data.train_x, data.test_x])[..., 0]
    key = lambda images: sorted(map(bytes, images))  # noqa: E731  (order-free comparison)
    assert key(ours) == key(reference)


def test_test_split_is_stratified_and_independent_of_seed(data):
    counts = np.bincount(data.test_y) / np.bincount(np.concatenate([data.train_y, data.test_y]))
    np.testing.assert_allclose(counts, 0.2, atol=0.02)
    other = digits(seed=7, train_portion=0.3)
    np.testing.assert_array_equal(other.test_x, data.test_x)
    assert (other.split_seed, other.train_portion) == (7, 0.3)


def test_mean_std_from_training_images(data):
    mean, std = channel_stats(data.train_x)
    assert data.mean == pytest.approx(mean) and data.std == pytest.approx(std)
    assert data.mean[0] == pytest.approx(data.train_x.mean() / 255)


def test_augmentation_off_by_default_and_shifts_when_on(data):
    assert data.augment is None
    augment = digits(augment=True).augment
    out = augment(data.train_x[:50], np.random.RandomState(0))
    assert out.shape == (50, 8, 8, 1)
    assert any(not np.array_equal(a, b) for a, b in zip(out, data.train_x[:50]))


def test_invalid_portion():
    with pytest.raises(ConfigError, match="dataloader.digits.valid_portion"):
        digits(valid_portion=1.0)


def test_search_loaders_on_digits(data):
    loaders = make_loaders(data, "search", mini_batch_train=32, mini_batch_valid=32, seed=0)
    x, y = loaders["train"].next()
    assert x.shape == (32, 1, 8, 8) and y.shape == (32, 1)
    assert loaders["train"].size + loaders["valid"].size == len(data.train_x)
