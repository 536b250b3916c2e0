"""Datasets: registered builders returning :class:`ImageData`, split into :class:`DataLoader` s.

Importing this package registers every builder in :data:`DATASETS`
(``digits``, ``npz``, ``cifar10``, ``imagenet``).
"""

from . import cifar10, digits, imagenet, npz  # noqa: F401  (registration)
from .data import DatasetError, ImageData, make_loaders, split_indices
from .loader import DataLoader
from .registry import DATASETS, build_dataset
from .safe_pickle import RestrictedUnpickler, UnsafePickleError

__all__ = ["DATASETS", "DataLoader", "DatasetError", "ImageData", "RestrictedUnpickler",
           "UnsafePickleError", "build_dataset", "make_loaders", "split_indices"]
