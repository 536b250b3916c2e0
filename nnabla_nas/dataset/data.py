"""`ImageData`, what every dataset builder returns, and its train/valid/test splits.

A builder loads a whole (small) image dataset into memory as uint8 NHWC arrays
and records how it should be split. :func:`make_loaders` turns it into the
:class:`~nnabla_nas.dataset.loader.DataLoader` s a runner consumes:

* ``"search"`` mode: the training set is split into two disjoint parts, one for
  weight steps (``"train"``) and one for architecture steps (``"valid"``); the
  test set is not used, so architecture selection never looks at it.
* ``"train"`` mode: a held-out part of the training set (``"valid"``) for model
  selection, the rest for training (``"train"``), and the test set (``"test"``)
  for the final report.
"""

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np

from ..utils.registry import ConfigError
from .loader import DataLoader
from .transforms import Augment

MODES = ("search", "train")


class DatasetError(ValueError):
    """A dataset file whose content is unusable (wrong keys, dtypes, checksum,
    truncated archive...): one line naming the file and what is wrong."""


def one_line(err: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


@dataclasses.dataclass
class ImageData:
    """An in-memory image classification dataset and how to split it.

    Args:
        name: Dataset name (its registry key), used in messages.
        train_x: Training images, uint8 ``(N, H, W, C)``.
        train_y: Training labels, int64 ``(N,)``, in ``0..num_classes-1``.
        test_x: Test images, uint8 ``(M, H, W, C)``.
        test_y: Test labels, int64 ``(M,)``.
        mean: Per-channel mean on the 0..1 scale, used for normalisation.
        std: Per-channel standard deviation on the 0..1 scale.
        augment: Training augmentation ``(batch, rng) -> batch`` on uint8
            NHWC batches, or ``None``.
        train_portion: Search mode: fraction of the training set used for
            weight steps; the rest is used for architecture steps.
        valid_portion: Train mode: fraction of the training set held out for
            model selection.
        split_seed: Seed of the permutation that splits the training set.

    Raises:
        ValueError: If arrays have the wrong dtype, rank or lengths.
    """

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    mean: Tuple[float, ...]
    std: Tuple[float, ...]
    augment: Optional[Augment] = None
    train_portion: float = 0.5
    valid_portion: float = 0.1
    split_seed: int = 0

    def __post_init__(self):
        for part in ("train", "test"):
            x, y = getattr(self, f"{part}_x"), getattr(self, f"{part}_y")
            if x.dtype != np.uint8 or x.ndim != 4:
                raise ValueError(f"{self.name}: {part}_x must be uint8 (N, H, W, C), "
                                 f"got {x.dtype} {x.shape}")
            if y.dtype != np.int64 or y.shape != (len(x),):
                raise ValueError(f"{self.name}: {part}_y must be int64 of shape ({len(x)},), "
                                 f"got {y.dtype} {y.shape}")
        if self.test_x.shape[1:] != self.train_x.shape[1:]:
            raise ValueError(f"{self.name}: test images {self.test_x.shape[1:]} differ "
                             f"from training images {self.train_x.shape[1:]}")
        self.mean = tuple(float(m) for m in self.mean)
        self.std = tuple(float(s) for s in self.std)
        if len(self.mean) != self.shape[0] or len(self.std) != self.shape[0]:
            raise ValueError(f"{self.name}: mean and std need {self.shape[0]} values, "
                             f"got {len(self.mean)} and {len(self.std)}")

    @property
    def shape(self) -> Tuple[int, int, int]:
        """Shape ``(C, H, W)`` of one image as the network sees it."""
        _, h, w, c = self.train_x.shape
        return (c, h, w)

    @property
    def num_classes(self) -> int:
        """Number of classes (largest label + 1)."""
        return int(max(self.train_y.max(initial=-1), self.test_y.max(initial=-1))) + 1


def check_portion(dataset: str, key: str, value: float) -> None:
    """Raises :class:`ConfigError` unless ``0 < value < 1``.

    Args:
        dataset: Registry name of the dataset, for the key path.
        key: Option name.
        value: Option value.
    """
    if not 0.0 < value < 1.0:
        raise ConfigError(f"dataloader.{dataset}.{key}: expected a number strictly "
                          f"between 0 and 1, got {value!r}")


def check_split_options(dataset: str, train_portion: float, valid_portion: float) -> None:
    """Validates the split options every builder accepts (see :func:`check_portion`)."""
    check_portion(dataset, "train_portion", train_portion)
    check_portion(dataset, "valid_portion", valid_portion)


def channel_stats(images: np.ndarray) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 NHWC images, on the 0..1 scale.

    A constant channel gets a standard deviation of 1 so normalisation stays finite.
    """
    pixels = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    std = pixels.std(axis=0)
    return tuple(pixels.mean(axis=0).tolist()), tuple(np.where(std > 0, std, 1.0).tolist())


def stratified_split(labels: np.ndarray, portion: float,
                     seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Splits indices so that each class gives ``round(portion * count)`` to the second part.

    Args:
        labels: Integer labels ``(N,)``.
        portion: Fraction of each class in the second part.
        seed: Seed of the per-class permutations.

    Returns:
        Sorted indices of the first and of the second part; together they are
        ``0..N-1``, each exactly once.
    """
    rng = np.random.RandomState(seed)
    second = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        second.append(members[:int(round(portion * len(members)))])
    second = np.sort(np.concatenate(second)) if second else np.zeros(0, np.int64)
    first = np.setdiff1d(np.arange(len(labels)), second)
    return first, second


def split_indices(n: int, mode: str, train_portion: float, valid_portion: float,
                  seed: int) -> Dict[str, np.ndarray]:
    """Splits training indices ``0..n-1`` into ``"train"`` and ``"valid"``.

    Both parts are sorted, disjoint and together cover every index. The
    permutation is ``RandomState(seed).permutation(n)``; in ``"search"`` mode
    ``"train"`` is its first ``round(train_portion * n)`` entries, in
    ``"train"`` mode ``"valid"`` is its last ``round(valid_portion * n)``.

    Args:
        n: Size of the training set.
        mode: ``"search"`` or ``"train"``.
        train_portion: Search mode fraction for weight steps.
        valid_portion: Train mode fraction held out for validation.
        seed: Split seed.

    Raises:
        ValueError: If ``mode`` is unknown.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode '{mode}'; valid modes: {', '.join(MODES)}")
    perm = np.random.RandomState(seed).permutation(n)
    k = round(train_portion * n) if mode == "search" else n - round(valid_portion * n)
    return {"train": np.sort(perm[:k]), "valid": np.sort(perm[k:])}


def _loader_seeds(seed: int, count: int):
    """Independent integer seeds for ``count`` loaders derived from one seed."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(seed).spawn(count)]


def split_for_loaders(data, n: int, mode: str, mini_batch_train: int,
                      mini_batch_valid: int) -> Dict[str, np.ndarray]:
    """:func:`split_indices` of ``data``'s ``n`` training images, checked against
    the loaders that will read the parts.

    Args:
        data: Has ``name``, ``train_portion``, ``valid_portion`` and ``split_seed``.

    Raises:
        ConfigError: If a streamed part has fewer images than its mini-batch
            size, or a training run would have no validation images.
    """
    parts = split_indices(n, mode, data.train_portion, data.valid_portion, data.split_seed)
    key = "train_portion" if mode == "search" else "valid_portion"
    streamed = {"train": mini_batch_train, "valid": mini_batch_valid} if mode == "search" \
        else {"train": mini_batch_train}
    for part, batch in streamed.items():
        size = len(parts[part])
        if size < batch:
            raise ConfigError(f"dataloader.{data.name}.{key}={getattr(data, key)} leaves "
                              f"{size} of {n} training images for '{part}', fewer than its "
                              f"mini-batch size {batch}")
    if mode == "train" and len(parts["valid"]) == 0:
        raise ConfigError(f"dataloader.{data.name}.valid_portion={data.valid_portion} "
                          f"leaves no validation images out of {n}")
    return parts


def eval_batch_size(mini_batch: int, size: int, parts: int = 1) -> int:
    """Batch size of an evaluation loader over ``size`` images: ``mini_batch``
    capped at ``size`` and rounded down to a multiple of the ``parts`` processes
    that share each batch (at least ``parts``)."""
    batch = min(mini_batch, size)
    return max(parts, batch - batch % parts)


def make_loaders(data, mode: str, mini_batch_train: int, mini_batch_valid: int,
                 seed: int = 0, shard: Tuple[int, int] = (0, 1)) -> Dict[str, DataLoader]:
    """Builds the data loaders of a search or of a training run.

    The split itself is read from ``data`` (``train_portion``,
    ``valid_portion``, ``split_seed``, set by the builder from its config
    options); ``seed`` only seeds the loaders' shuffling and augmentation.

    * ``"search"``: ``"train"`` (shuffled, augmented) and ``"valid"``
      (shuffled, not augmented), disjoint parts of the training set. No test
      loader: the search never sees the test set.
    * ``"train"``: ``"train"`` (shuffled, augmented), ``"valid"`` (held out,
      ordered, not augmented) and ``"test"`` (ordered, not augmented). The
      last two are meant for :meth:`DataLoader.epoch`; their batch size is
      ``mini_batch_valid`` capped at their size (:func:`eval_batch_size`).

    Every batch size is global: with ``shard=(rank, size)`` each loader gives
    this process its part of every batch (see :class:`DataLoader`).

    Args:
        data: The dataset: an :class:`ImageData`, or file-backed data (such
            as ``imagenet``'s) with a ``make_loaders`` method of its own.
        mode: ``"search"`` or ``"train"``.
        mini_batch_train: Batch size of the ``"train"`` loader.
        mini_batch_valid: Batch size of the other loaders.
        seed: Seed of the loaders' random state.
        shard: ``(rank, size)`` of this process in a data-parallel run.

    Returns:
        Loader name -> :class:`DataLoader`.

    Raises:
        ConfigError: If a split leaves fewer images than a streaming loader's
            batch size.
        ValueError: If ``mode`` is unknown.
    """
    if not isinstance(data, ImageData):  # file-backed data (imagenet) splits itself
        return data.make_loaders(mode, mini_batch_train, mini_batch_valid, seed, shard)
    parts = split_for_loaders(data, len(data.train_x), mode, mini_batch_train,
                              mini_batch_valid)
    seeds = _loader_seeds(seed, 3)

    def loader(x, y, batch, shuffle, augment, rng_seed):
        return DataLoader(x, y, batch, shuffle=shuffle, augment=augment,
                          mean=data.mean, std=data.std, rng=rng_seed, shard=shard)

    train, valid = parts["train"], parts["valid"]
    loaders = {"train": loader(data.train_x[train], data.train_y[train], mini_batch_train,
                               True, data.augment, seeds[0])}
    if mode == "search":
        loaders["valid"] = loader(data.train_x[valid], data.train_y[valid], mini_batch_valid,
                                  True, None, seeds[1])
    else:
        parts = shard[1]
        loaders["valid"] = loader(data.train_x[valid], data.train_y[valid],
                                  eval_batch_size(mini_batch_valid, len(valid), parts), False,
                                  None, seeds[1])
        loaders["test"] = loader(data.test_x, data.test_y,
                                 eval_batch_size(mini_batch_valid, len(data.test_x), parts),
                                 False, None, seeds[2])
    return loaders
