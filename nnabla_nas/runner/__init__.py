"""Runners: the searchers (DARTS, ProxylessNAS) and the trainer."""

from .hparams import Hparams
from .registry import RUNNERS
from .runner import Runner
from .searcher import DartsSearcher, ProxylessNasSearcher, Searcher
from .trainer import Trainer

__all__ = ["DartsSearcher", "Hparams", "ProxylessNasSearcher", "RUNNERS", "Runner", "Searcher", "Trainer"]
