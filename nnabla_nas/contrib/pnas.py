"""Alias of :mod:`nnabla_nas.contrib.classification.pnas` (the old import path)."""

from .classification.pnas import SearchNet, TrainNet

__all__ = ["SearchNet", "TrainNet"]
