"""`SPACES`: search-space name (the key under ``network`` in a config) -> its package.

Each registered package offers ``SearchNet`` and ``TrainNet``; the algorithm
picks which one it builds.
"""

from ..utils.registry import Registry
from .classification import darts, mobilenet, pnas

SPACES = Registry("network", {"darts": darts, "pnas": pnas, "mobilenet": mobilenet})
