"""The `Trainer` of fixed networks."""

from .trainer import Trainer

__all__ = ["Trainer"]
