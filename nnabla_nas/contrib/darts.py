"""Alias of :mod:`nnabla_nas.contrib.classification.darts` (the old import path).

``from nnabla_nas.contrib import darts`` and
``from nnabla_nas.contrib.classification import darts`` give the same classes.
"""

from .classification.darts import CANDIDATES, SearchNet, TrainNet

__all__ = ["CANDIDATES", "SearchNet", "TrainNet"]
