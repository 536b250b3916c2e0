"""The solver wrapper: clipping, weight decay, schedules, state save/restore."""

from .optimizer import Optimizer
from .registry import SCHEDULERS, SOLVERS

__all__ = ["Optimizer", "SCHEDULERS", "SOLVERS"]
