"""ImageNet-style datasets: image folders or file lists, decoded from disk batch by batch.

A source (``train_dir``/``train_list``, ``val_dir``/``val_list``) is either

* a folder of class subfolders of JPEG/PNG files (``train/n01440764/x.JPEG``):
  the class folders sorted by name give the labels ``0..K-1``, and a
  validation folder's subfolders get the labels of the training classes of
  the same name; or
* a file list of ``path label`` lines: relative paths are resolved against
  the list's folder, the label is the last field (a path may hold spaces),
  blank lines and lines starting with ``#`` are ignored.

The validation source is the test split of training runs; without one, a
fixed stratified 10% of the training images is held out as the test set.

Images stay on disk: the builder returns a :class:`FileData` (paths and
labels), which :func:`make_loaders` splits into
:class:`~nnabla_nas.dataset.file_loader.FileDataLoader` s exactly as the
in-memory datasets are split into
:class:`~nnabla_nas.dataset.loader.DataLoader` s.

An empty class folder is an error (:class:`DatasetError` naming it): skipping
it would shift the label of every class after it and mislabel a validation
folder. An image that cannot be decoded is skipped when it is loaded,
counted and named in a warning (see :mod:`~nnabla_nas.dataset.file_loader`).

References:
    Deng et al., "ImageNet: A Large-Scale Hierarchical Image Database", CVPR 2009.
"""

import dataclasses
import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.registry import ConfigError
from .data import (DatasetError, _loader_seeds, check_split_options, eval_batch_size,
                   split_for_loaders, stratified_split)
from .registry import DATASETS

if TYPE_CHECKING:  # imported when loaders are made, as it loads PIL
    from .file_loader import FileDataLoader

#: ImageNet channel statistics on the 0..1 scale (the usual torchvision values).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
#: File name endings taken as images in class folders (compared in lower case).
EXTENSIONS = (".jpg", ".jpeg", ".png")
#: Fraction of each class held out as the test set when there is no validation source.
TEST_PORTION = 0.1
#: Seed of that held-out test set: fixed, independent of the user's seed.
TEST_SEED = 20170401


@dataclasses.dataclass
class FileData:
    """An image classification dataset kept on disk, and how to split it.

    The file-backed counterpart of :class:`~nnabla_nas.dataset.data.ImageData`
    (same ``name``, split options, ``shape`` and ``num_classes``).

    Args:
        name: Dataset name (its registry key), used in messages.
        train_files: Training image paths.
        train_y: Training labels, int64 ``(N,)``.
        test_files: Test image paths.
        test_y: Test labels, int64 ``(M,)``.
        mean: Per-channel mean on the 0..1 scale.
        std: Per-channel standard deviation on the 0..1 scale.
        image_size: Side of the square network input.
        resize: Shorter side before the evaluation center crop.
        workers: Decoding threads per loader.
        classes: Class names by label, when the source has them.
        train_portion: Search mode fraction of the training set for weight steps.
        valid_portion: Train mode fraction of the training set held out for validation.
        split_seed: Seed of the permutation that splits the training set.
    """

    name: str
    train_files: List[str]
    train_y: np.ndarray
    test_files: List[str]
    test_y: np.ndarray
    mean: Tuple[float, ...] = MEAN
    std: Tuple[float, ...] = STD
    image_size: int = 224
    resize: int = 256
    workers: int = 4
    classes: Tuple[str, ...] = ()
    train_portion: float = 0.5
    valid_portion: float = 0.1
    split_seed: int = 0

    @property
    def shape(self) -> Tuple[int, int, int]:
        """Shape ``(C, H, W)`` of one image as the network sees it."""
        return (3, self.image_size, self.image_size)

    @property
    def num_classes(self) -> int:
        """Number of classes: of class folders, else largest label + 1."""
        return max(len(self.classes), int(self.train_y.max(initial=-1)) + 1)

    def make_loaders(self, mode: str, mini_batch_train: int, mini_batch_valid: int,
                     seed: int = 0, shard=(0, 1)) -> Dict[str, "FileDataLoader"]:
        """The loaders of a search or of a training run; see :func:`make_loaders`."""
        from .file_loader import FileDataLoader
        parts = split_for_loaders(self, len(self.train_files), mode, mini_batch_train,
                                  mini_batch_valid)

        def loader(files, labels, batch, shuffle, augment, rng_seed):
            return FileDataLoader(files, labels, batch, self.image_size, self.resize,
                                  shuffle=shuffle, augment=augment, mean=self.mean,
                                  std=self.std, workers=self.workers, rng=rng_seed,
                                  shard=shard)

        def train_part(index):
            return [self.train_files[i] for i in index], self.train_y[index]

        seeds = _loader_seeds(seed, 3)
        train, valid = parts["train"], parts["valid"]
        loaders = {"train": loader(*train_part(train), mini_batch_train, True, True, seeds[0])}
        if mode == "search":
            loaders["valid"] = loader(*train_part(valid), mini_batch_valid, True, False, seeds[1])
        else:
            parts = shard[1]
            loaders["valid"] = loader(*train_part(valid),
                                      eval_batch_size(mini_batch_valid, len(valid), parts),
                                      False, False, seeds[1])
            loaders["test"] = loader(self.test_files, self.test_y,
                                     eval_batch_size(mini_batch_valid, len(self.test_files),
                                                     parts), False, False, seeds[2])
        return loaders


# -- sources -------------------------------------------------------------------------
def read_folder(root: str, key: str, classes: Optional[Sequence[str]] = None
                ) -> Tuple[List[str], np.ndarray, List[str]]:
    """Image paths and labels of a folder of class subfolders.

    Args:
        root: The folder.
        key: Its config key, for messages.
        classes: Class names by label (a validation folder takes the training
            ones); ``None`` to use this folder's subfolders, sorted.

    Returns:
        ``(files, labels, classes)``; files sorted by class, then by name.

    Raises:
        ConfigError: If ``root`` is not a folder.
        DatasetError: If it has no class subfolder, a class folder holds no
            JPEG/PNG file, or a subfolder is not one of ``classes``.
    """
    if not os.path.isdir(root):
        raise ConfigError(f"dataloader.imagenet.{key}: folder '{root}' does not exist")
    found = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not found:
        raise DatasetError(f"image folder '{root}' has no class subfolders")
    classes = list(found if classes is None else classes)
    label_of = {name: label for label, name in enumerate(classes)}
    unknown = [name for name in found if name not in label_of]
    if unknown:
        raise DatasetError(f"image folder '{root}' has {len(unknown)} class folders that are "
                           f"not training classes, e.g. '{unknown[0]}'")
    files, labels, empty = [], [], []
    for name in found:
        images = sorted(e.path for e in os.scandir(os.path.join(root, name))
                        if e.is_file() and e.name.lower().endswith(EXTENSIONS))
        if not images:
            empty.append(name)
        files.extend(images)
        labels.extend([label_of[name]] * len(images))
    if empty:
        raise DatasetError(f"image folder '{root}' has {len(empty)} class folders without "
                           f"{'/'.join(EXTENSIONS)} files, e.g. '{empty[0]}'; remove or fill "
                           "them (labels follow the sorted class folders)")
    return files, np.asarray(labels, np.int64), classes


def read_list(path: str, key: str) -> Tuple[List[str], np.ndarray]:
    """Image paths and labels of a file list of ``path label`` lines.

    Raises:
        ConfigError: If ``path`` is not a file.
        DatasetError: If a line is malformed or the list is empty.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"dataloader.imagenet.{key}: file '{path}' does not exist")
    root = os.path.dirname(os.path.abspath(path))
    files, labels = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.rsplit(None, 1)
            if len(fields) != 2 or not fields[1].isdigit():
                raise DatasetError(f"file list '{path}' line {number}: expected 'path label' "
                                   f"with an integer label >= 0, got {line!r}")
            files.append(os.path.join(root, fields[0]))
            labels.append(int(fields[1]))
    if not files:
        raise DatasetError(f"file list '{path}' lists no images")
    return files, np.asarray(labels, np.int64)


def read_sources(train_dir: str, train_list: str, val_dir: str,
                 val_list: str) -> Tuple[List[str], np.ndarray, List[str], np.ndarray,
                                         Tuple[str, ...]]:
    """Reads the training source and the test one (or holds part of training out).

    Returns:
        ``(train_files, train_y, test_files, test_y, classes)``.
    """
    classes: Optional[List[str]] = None
    if train_dir:
        train_files, train_y, classes = read_folder(train_dir, "train_dir")
    else:
        train_files, train_y = read_list(train_list, "train_list")
    if val_dir:
        test_files, test_y, val_classes = read_folder(val_dir, "val_dir", classes)
        classes = classes or val_classes
    elif val_list:
        test_files, test_y = read_list(val_list, "val_list")
    else:
        train, test = stratified_split(train_y, TEST_PORTION, TEST_SEED)
        if len(test) == 0:
            raise DatasetError(f"holding out {TEST_PORTION:.0%} of each class as the test set "
                               f"leaves no images out of {len(train_y)}; give val_dir or "
                               "val_list")
        test_files, test_y = [train_files[i] for i in test], train_y[test]
        train_files, train_y = [train_files[i] for i in train], train_y[train]
    num_classes = max(len(classes or ()), int(train_y.max()) + 1)
    if test_y.max() >= num_classes:
        raise DatasetError(f"test label {int(test_y.max())} is outside the 0..{num_classes - 1} "
                           "of the training source")
    return train_files, train_y, test_files, test_y, tuple(classes or ())


@DATASETS.register("imagenet")
def imagenet(*, train_dir: str = "", val_dir: str = "", train_list: str = "",
             val_list: str = "", image_size: int = 224, resize: int = 256,
             train_portion: float = 0.5, valid_portion: float = 0.1, seed: int = 0,
             workers: int = 4) -> FileData:
    """Builds an ImageNet-style dataset read from files (see the module docstring).

    Training batches get torchvision's random resized crop (area 8% to 100%,
    ratio 3/4 to 4/3) to ``image_size`` and a random horizontal flip;
    evaluation batches the shorter side resized to ``resize`` and a center
    crop of ``image_size``. All are normalised with the ImageNet mean and std.

    Args:
        train_dir: Folder of class subfolders of training images.
        val_dir: Folder of class subfolders of test images.
        train_list: File list of training images (instead of ``train_dir``).
        val_list: File list of test images (instead of ``val_dir``).
        image_size: Side of the square network input.
        resize: Shorter side before the evaluation center crop, at least ``image_size``.
        train_portion: Search mode fraction of the training set for weight
            steps; the rest is for architecture steps.
        valid_portion: Train mode fraction of the training set held out for
            validation.
        seed: Seed of the train/valid split.
        workers: Decoding threads per loader.

    Raises:
        ConfigError: If an option is out of range, both or neither of a
            source's folder and list are given, or a folder or list is missing.
        DatasetError: If a folder or list is unusable (see :func:`read_folder`,
            :func:`read_list`).
    """
    check_split_options("imagenet", train_portion, valid_portion)
    for key, value in (("image_size", image_size), ("workers", workers)):
        if value < 1:
            raise ConfigError(f"dataloader.imagenet.{key}: expected a positive integer, "
                              f"got {value!r}")
    if resize < image_size:
        raise ConfigError(f"dataloader.imagenet.resize: expected at least image_size "
                          f"({image_size}), got {resize!r}")
    given = {"train_dir": train_dir, "train_list": train_list, "val_dir": val_dir,
             "val_list": val_list}
    for folder, listing in (("train_dir", "train_list"), ("val_dir", "val_list")):
        if given[folder] and given[listing]:
            raise ConfigError(f"dataloader.imagenet.{folder}: give {folder} or {listing}, "
                              "not both")
    if not (train_dir or train_list):
        raise ConfigError("dataloader.imagenet.train_dir: missing; give the training images "
                          "as train_dir (a folder of class folders) or train_list (a file list)")
    train_files, train_y, test_files, test_y, classes = read_sources(
        train_dir, train_list, val_dir, val_list)
    return FileData(name="imagenet", train_files=train_files, train_y=train_y,
                    test_files=test_files, test_y=test_y, image_size=image_size, resize=resize,
                    workers=workers, classes=classes, train_portion=train_portion,
                    valid_portion=valid_portion, split_seed=seed)
