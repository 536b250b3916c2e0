"""`RUNNERS`: algorithm name (the ``-a`` flag) -> runner class."""

from ..utils.registry import Registry

RUNNERS = Registry("algorithm")
