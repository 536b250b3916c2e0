"""Runners: the searchers (DARTS, ProxylessNAS) and the trainer."""

from .registry import RUNNERS
from .runner import Runner
from .searcher import DartsSearcher, Searcher
from .trainer import Trainer

__all__ = ["DartsSearcher", "RUNNERS", "Runner", "Searcher", "Trainer"]
