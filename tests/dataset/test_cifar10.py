"""Tests for nnabla_nas.dataset.cifar10 on tiny archives in the official format."""

import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from nnabla_nas.dataset import DatasetError, UnsafePickleError, make_loaders
from nnabla_nas.dataset import cifar10 as cifar
from nnabla_nas.dataset.transforms import mean_fill
from nnabla_nas.utils.registry import ConfigError

PER_BATCH = 4


class Exploit:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def batch_dict(images, labels, name):
    """A batch pickled like the official ones: rows are the CHW-flattened image."""
    return {b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
            b"data": images.transpose(0, 3, 1, 2).reshape(len(images), 3072),
            b"filenames": [f"img_{i}.png".encode() for i in range(len(images))]}


def make_archive(folder, replace=None):
    """Writes ``folder/cifar-10-python.tar.gz``; returns its path and the HWC images.

    Args:
        replace: Member name -> object pickled instead of that member's batch.
    """
    rng = np.random.RandomState(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    x = rng.randint(0, 256, size=(6 * PER_BATCH, 32, 32, 3)).astype(np.uint8)
    y = rng.randint(0, 10, size=6 * PER_BATCH)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, cifar.ARCHIVE)
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate(names):
            part = slice(i * PER_BATCH, (i + 1) * PER_BATCH)
            obj = (replace or {}).get(name, batch_dict(x[part], y[part], name))
            data = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    split = 5 * PER_BATCH
    return path, (x[:split], y[:split], x[split:], y[split:])


def build(folder, **options):
    return cifar.cifar10(data_dir=str(folder), download=False, verify=False, **options)


def test_decoded_pixels_equal_generated_images(tmp_path):
    path, (train_x, train_y, test_x, test_y) = make_archive(tmp_path)
    data = build(tmp_path)
    np.testing.assert_array_equal(data.train_x, train_x)
    np.testing.assert_array_equal(data.train_y, train_y)
    np.testing.assert_array_equal(data.test_x, test_x)
    np.testing.assert_array_equal(data.test_y, test_y)
    row = pickle.loads(tarfile.open(path).extractfile("cifar-10-batches-py/data_batch_1")
                       .read())[b"data"][0]
    assert data.train_x[0, 5, 7, 2] == row[2 * 1024 + 5 * 32 + 7]  # channel-major rows
    assert data.shape == (3, 32, 32) and data.train_y.dtype == np.int64
    assert data.mean == cifar.MEAN and data.std == cifar.STD


def test_loaders_and_augmentation(tmp_path):
    make_archive(tmp_path)
    data = build(tmp_path, cutout=8, train_portion=0.5)
    loaders = make_loaders(data, "search", mini_batch_train=4, mini_batch_valid=4, seed=0)
    assert loaders["train"].size == loaders["valid"].size == 10
    x, y = loaders["train"].next()
    assert x.shape == (4, 3, 32, 32) and y.shape == (4, 1)
    out = data.augment(data.train_x, np.random.RandomState(0))
    assert out.shape == data.train_x.shape
    in_square = np.all(out == np.array(mean_fill(cifar.MEAN), np.uint8), axis=-1)
    assert (in_square.sum(axis=(1, 2)) >= 4 * 4).all()  # every image has its (clipped) square


def test_wrong_md5_with_verify_is_refused(tmp_path):
    path, _ = make_archive(tmp_path)
    with pytest.raises(DatasetError) as err:
        cifar.cifar10(data_dir=str(tmp_path), download=False, verify=True)
    message = str(err.value)
    assert path in message and cifar.MD5 in message and cifar.md5sum(path) in message
    assert "\n" not in message


def test_missing_archive_without_download(tmp_path):
    with pytest.raises(ConfigError, match="does not exist and download is false"):
        build(tmp_path / "empty")


def test_data_dir_defaults_to_environment(tmp_path, monkeypatch):
    make_archive(tmp_path / "env")
    monkeypatch.setenv(cifar.DATA_ENV, str(tmp_path / "env"))
    assert cifar.default_data_dir() == str(tmp_path / "env")
    assert len(cifar.cifar10(download=False, verify=False).train_x) == 5 * PER_BATCH


def test_download_from_local_url(tmp_path):
    source, (train_x, *_) = make_archive(tmp_path / "mirror")
    target = tmp_path / "data"
    data = cifar.cifar10(data_dir=str(target), verify=False, url=f"file://{source}")
    assert os.listdir(target) == [cifar.ARCHIVE]
    assert cifar.md5sum(str(target / cifar.ARCHIVE)) == cifar.md5sum(source)
    np.testing.assert_array_equal(data.train_x, train_x)


def test_download_with_wrong_md5_leaves_nothing(tmp_path):
    source, _ = make_archive(tmp_path / "mirror")
    target = tmp_path / "data"
    with pytest.raises(DatasetError, match=f"has md5 {cifar.md5sum(source)}, expected"):
        cifar.cifar10(data_dir=str(target), verify=True, url=f"file://{source}")
    assert os.listdir(target) == []


def test_download_failure_is_one_line(tmp_path):
    with pytest.raises(DatasetError, match="cannot download") as err:
        cifar.cifar10(data_dir=str(tmp_path), url=f"file://{tmp_path}/absent.tar.gz")
    assert "\n" not in str(err.value) and os.listdir(tmp_path) == []


def test_malicious_member_is_refused_and_never_runs(tmp_path):
    pwned = tmp_path / "pwned"
    make_archive(tmp_path, replace={"data_batch_2": {b"data": Exploit(f"touch {pwned}"),
                                                    b"labels": []}})
    with pytest.raises(UnsafePickleError) as err:
        build(tmp_path)
    assert not pwned.exists()
    message = str(err.value)
    assert "data_batch_2" in message and "system" in message


def test_truncated_archive(tmp_path):
    path, _ = make_archive(tmp_path)
    with open(path, "rb") as f:
        head = f.read()[: os.path.getsize(path) // 2]
    with open(path, "wb") as f:
        f.write(head)
    with pytest.raises(DatasetError, match="corrupted or truncated") as err:
        build(tmp_path)
    assert path in str(err.value) and "\n" not in str(err.value)


def test_member_that_is_not_a_batch(tmp_path):
    make_archive(tmp_path, replace={"test_batch": [1, 2, 3]})
    with pytest.raises(DatasetError, match="test_batch' is not a CIFAR batch"):
        build(tmp_path)


def test_missing_member(tmp_path):
    path = tmp_path / cifar.ARCHIVE
    with tarfile.open(path, "w:gz"):
        pass
    with pytest.raises(DatasetError, match="has no member 'cifar-10-batches-py/data_batch_1'"):
        build(tmp_path)


def test_cutout_range():
    with pytest.raises(ConfigError, match="dataloader.cifar10.cutout"):
        cifar.cifar10(cutout=-1)
