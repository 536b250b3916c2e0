"""Alias of :mod:`nnabla_nas.contrib.classification.mobilenet` (the old import path).

``from nnabla_nas.contrib import mobilenet`` and
``from nnabla_nas.contrib.classification import mobilenet`` give the same classes.
"""

from .classification.mobilenet import (CANDIDATES, CIFAR_SETTINGS, IMAGENET_SETTINGS, SKIP,
                                       SearchNet, TrainNet)

__all__ = ["CANDIDATES", "CIFAR_SETTINGS", "IMAGENET_SETTINGS", "SKIP", "SearchNet",
           "TrainNet"]
