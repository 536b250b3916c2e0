"""Any small image dataset saved as a ``.npz`` file.

The file holds ``x`` (uint8 images ``(N, H, W, C)``, or ``(N, H, W)`` for
grayscale) and ``y`` (integer labels ``0..K-1``), and optionally a test set
``x_test``/``y_test``; without one, a fixed stratified part of ``x`` is held
out as the test set. It is loaded with ``allow_pickle=False``.
"""

import os
import zipfile
from typing import Dict, Tuple

import numpy as np

from ..utils.registry import ConfigError
from .data import (DatasetError, ImageData, channel_stats, check_portion, check_split_options,
                   one_line, stratified_split)
from .registry import DATASETS
from .transforms import crop_flip

#: Seed of the test split when the file has none: fixed, independent of the user's seed.
TEST_SEED = 20170401
#: Images at least this large (height and width) get crop and flip augmentation.
MIN_AUGMENT_SIZE = 16


def load_npz_arrays(path: str) -> Dict[str, np.ndarray]:
    """Reads the ``x``, ``y``, ``x_test``, ``y_test`` arrays present in ``path``.

    Raises:
        ConfigError: If ``path`` does not exist.
        DatasetError: If it is not a readable ``.npz`` archive of plain arrays.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"dataloader.npz.path: file '{path}' does not exist")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DatasetError(f"npz file '{path}' holds a single array, not an .npz "
                               "archive with keys 'x' and 'y'")
        with loaded:
            return {key: loaded[key] for key in ("x", "y", "x_test", "y_test")
                    if key in loaded.files}
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as err:
        if isinstance(err, DatasetError):
            raise
        raise DatasetError(f"npz file '{path}' is not a readable .npz archive of plain "
                           f"arrays ({one_line(err)})") from None


def _check_pair(path: str, x: np.ndarray, y: np.ndarray, x_key: str,
                y_key: str) -> Tuple[np.ndarray, np.ndarray]:
    """Checks one images/labels pair and returns it as uint8 NHWC, int64."""
    where = f"npz file '{path}'"
    if x.dtype != np.uint8:
        raise DatasetError(f"{where}: '{x_key}' must be uint8 images, got dtype {x.dtype}")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DatasetError(f"{where}: '{x_key}' must have shape (N, H, W, C) or (N, H, W), "
                           f"got {x.shape}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{where}: '{y_key}' must be integer labels of shape (N,), "
                           f"got dtype {y.dtype} shape {y.shape}")
    if len(x) != len(y):
        raise DatasetError(f"{where}: '{x_key}' has {len(x)} images but '{y_key}' "
                           f"has {len(y)} labels")
    if len(x) == 0:
        raise DatasetError(f"{where}: '{x_key}' is empty")
    return x, y.astype(np.int64)


def _check_labels(path: str, y: np.ndarray, y_test: np.ndarray) -> None:
    """Labels must be ``0..K-1`` with every class present in ``y``."""
    where = f"npz file '{path}'"
    num_classes = int(y.max()) + 1
    missing = np.setdiff1d(np.arange(num_classes), y)
    if y.min() < 0 or len(missing):
        bad = int(y.min()) if y.min() < 0 else int(missing[0])
        raise DatasetError(f"{where}: labels in 'y' must be 0..K-1 with every class present; "
                           f"label {bad} is {'negative' if bad < 0 else 'missing'}")
    outside = y_test[(y_test < 0) | (y_test >= num_classes)]
    if len(outside):
        raise DatasetError(f"{where}: 'y_test' has label {int(outside[0])}, outside the "
                           f"0..{num_classes - 1} of 'y'")


def read_npz(path: str, test_portion: float = 0.2) -> Tuple[np.ndarray, ...]:
    """Reads and checks a dataset file.

    Args:
        path: The ``.npz`` file.
        test_portion: Stratified fraction of ``x`` held out as the test set
            when the file has no ``x_test``/``y_test``.

    Returns:
        ``(train_x, train_y, test_x, test_y)``, uint8 NHWC and int64.

    Raises:
        ConfigError: If the file does not exist.
        DatasetError: Naming the file and what is wrong with its content.
    """
    arrays = load_npz_arrays(path)
    for key in ("x", "y"):
        if key not in arrays:
            raise DatasetError(f"npz file '{path}' has no key '{key}' "
                               f"(found: {', '.join(sorted(arrays)) or 'none of x, y'})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DatasetError(f"npz file '{path}': 'x_test' and 'y_test' must come together")
    x, y = _check_pair(path, arrays["x"], arrays["y"], "x", "y")
    if "x_test" in arrays:
        x_test, y_test = _check_pair(path, arrays["x_test"], arrays["y_test"], "x_test", "y_test")
        if x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(f"npz file '{path}': 'x_test' images {x_test.shape[1:]} differ "
                               f"from 'x' images {x.shape[1:]}")
    else:
        train, test = stratified_split(y, test_portion, TEST_SEED)
        x, y, x_test, y_test = x[train], y[train], x[test], y[test]
        if len(x_test) == 0:
            raise DatasetError(f"npz file '{path}': test_portion={test_portion} leaves no "
                               "test images; add 'x_test'/'y_test' or raise test_portion")
    _check_labels(path, y, y_test)
    return x, y, x_test, y_test


@DATASETS.register("npz")
def npz(*, path: str, train_portion: float = 0.5, valid_portion: float = 0.1, seed: int = 0,
        test_portion: float = 0.2) -> ImageData:
    """Builds a dataset from a ``.npz`` file (see the module docstring for its keys).

    Mean and std are computed from the training images. Images of at least
    16x16 pixels are augmented like CIFAR-10 (random crop with 4 pixels of
    zero padding, horizontal flip); smaller ones are not augmented.

    Args:
        path: The ``.npz`` file.
        train_portion: Search mode fraction of the training set for weight
            steps; the rest is for architecture steps.
        valid_portion: Train mode fraction of the training set held out for
            validation.
        seed: Seed of the train/valid split.
        test_portion: Fraction held out as the test set when the file has no
            ``x_test``/``y_test`` (the split is fixed, not seeded by ``seed``).

    Raises:
        ConfigError: If an option is out of range or the file does not exist.
        DatasetError: If the file's content is unusable.
    """
    check_split_options("npz", train_portion, valid_portion)
    check_portion("npz", "test_portion", test_portion)
    x, y, x_test, y_test = read_npz(path, test_portion)
    mean, std = channel_stats(x)
    big = min(x.shape[1:3]) >= MIN_AUGMENT_SIZE
    return ImageData(name="npz", train_x=x, train_y=y, test_x=x_test, test_y=y_test,
                     mean=mean, std=std, augment=crop_flip(padding=4) if big else None,
                     train_portion=train_portion, valid_portion=valid_portion,
                     split_seed=seed)
