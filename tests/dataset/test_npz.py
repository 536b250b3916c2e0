"""Tests for nnabla_nas.dataset.npz: loading, checks and their messages."""

import os

import numpy as np
import pytest

from nnabla_nas.dataset import DatasetError, build_dataset, make_loaders
from nnabla_nas.dataset.npz import npz
from nnabla_nas.utils.registry import ConfigError

#: The shared dev set, at ``../shared/data`` beside the repository.
NATURAL10 = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                          "shared", "data", "natural10_dev.npz"))


def save(tmp_path, name="data.npz", **arrays):
    path = str(tmp_path / name)
    np.savez(path, **arrays)
    return path


def images(n, size=8, channels=3, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (n, size, size, channels)).astype(np.uint8)


def test_loads_x_y_and_given_test_set(tmp_path):
    x, y = images(20), np.arange(20) % 4
    x_test, y_test = images(6, seed=1), np.arange(6) % 4
    data = npz(path=save(tmp_path, x=x, y=y, x_test=x_test, y_test=y_test), seed=3)
    np.testing.assert_array_equal(data.train_x, x)
    np.testing.assert_array_equal(data.test_x, x_test)
    assert data.train_y.dtype == np.int64 and data.num_classes == 4
    assert data.shape == (3, 8, 8) and data.split_seed == 3
    np.testing.assert_allclose(data.mean, (x / 255.0).mean(axis=(0, 1, 2)))


def test_without_test_set_holds_out_a_fixed_stratified_part(tmp_path):
    x, y = images(50), np.repeat(np.arange(5), 10)
    path = save(tmp_path, x=x, y=y)
    data = npz(path=path, test_portion=0.2)
    assert len(data.test_x) == 10 and np.bincount(data.test_y).tolist() == [2] * 5
    rows = lambda a: {bytes(i) for i in a}  # noqa: E731
    assert rows(data.train_x) | rows(data.test_x) == rows(x)
    assert not rows(data.train_x) & rows(data.test_x)
    np.testing.assert_array_equal(npz(path=path, seed=9).test_x, data.test_x)


def test_grayscale_gets_a_channel(tmp_path):
    data = npz(path=save(tmp_path, x=images(10, channels=1)[..., 0], y=np.arange(10) % 2))
    assert data.train_x.ndim == 4 and data.shape[0] == 1


def test_augmentation_only_for_large_images(tmp_path):
    small = npz(path=save(tmp_path, "s.npz", x=images(10, size=8), y=np.arange(10) % 2))
    large = npz(path=save(tmp_path, "l.npz", x=images(10, size=16), y=np.arange(10) % 2))
    assert small.augment is None
    batch = large.train_x[:8]
    out = large.augment(batch, np.random.RandomState(0))
    assert out.shape == batch.shape and not np.array_equal(out, batch)


def broken(kind):
    x, y = images(10), np.arange(10) % 2
    cases = {
        "missing y": ({"x": x}, "has no key 'y'"),
        "float x": ({"x": x.astype(np.float32), "y": y},
                    "'x' must be uint8 images, got dtype float32"),
        "rank": ({"x": x[:, 0, 0, 0], "y": y}, r"'x' must have shape \(N, H, W, C\)"),
        "float y": ({"x": x, "y": y.astype(float)}, "'y' must be integer labels"),
        "length": ({"x": x, "y": y[:9]}, "'x' has 10 images but 'y' has 9 labels"),
        "negative": ({"x": x, "y": y - 1}, "label -1 is negative"),
        "gap": ({"x": x, "y": y * 2}, "label 1 is missing"),
        "test label": ({"x": x, "y": y, "x_test": x[:2], "y_test": np.array([0, 5])},
                       "'y_test' has label 5, outside the 0..1"),
        "test alone": ({"x": x, "y": y, "x_test": x[:2]},
                       "'x_test' and 'y_test' must come together"),
        "test shape": ({"x": x, "y": y, "x_test": images(2, size=4), "y_test": y[:2]},
                       "'x_test' images"),
    }
    return cases[kind]


@pytest.mark.parametrize("kind", ["missing y", "float x", "rank", "float y", "length",
                                  "negative", "gap", "test label", "test alone", "test shape"])
def test_bad_content_gives_one_line_naming_the_file(tmp_path, kind):
    arrays, expected = broken(kind)
    path = save(tmp_path, **arrays)
    with pytest.raises(DatasetError, match=expected) as err:
        npz(path=path)
    assert path in str(err.value) and "\n" not in str(err.value)


def test_missing_file_is_a_config_error(tmp_path):
    path = str(tmp_path / "nowhere.npz")
    with pytest.raises(ConfigError, match=f"dataloader.npz.path: file '{path}' does not exist"):
        npz(path=path)


def test_path_is_required():
    with pytest.raises(ConfigError, match="missing required key 'path'"):
        build_dataset({"npz": {}})


@pytest.mark.parametrize("content", ["garbage", "object", "npy"])
def test_unreadable_files(tmp_path, content):
    path = str(tmp_path / "bad.npz")
    if content == "garbage":
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 not really a zip")
    elif content == "object":
        np.savez(path, x=np.array([{"a": 1}], dtype=object), y=np.zeros(1, int))
    else:
        with open(path, "wb") as f:
            np.save(f, images(2))
    with pytest.raises(DatasetError) as err:
        npz(path=path)
    assert path in str(err.value) and "\n" not in str(err.value)


def test_test_portion_range():
    with pytest.raises(ConfigError, match="dataloader.npz.test_portion"):
        npz(path="x.npz", test_portion=0.0)


@pytest.mark.skipif(not os.path.isfile(NATURAL10), reason="natural10_dev.npz not available")
def test_natural10():
    data = build_dataset({"npz": {"path": NATURAL10, "train_portion": 0.5}})
    assert data.shape == (3, 32, 32) and data.num_classes == 10
    assert len(data.train_x) + len(data.test_x) == 834
    assert data.augment is not None
    loaders = make_loaders(data, "search", mini_batch_train=64, mini_batch_valid=64, seed=0)
    x, y = loaders["train"].next()
    assert x.shape == (64, 3, 32, 32) and y.max() < 10
    assert abs(float(np.concatenate([b for b, _ in loaders["valid"].epoch()]).mean())) < 0.2
