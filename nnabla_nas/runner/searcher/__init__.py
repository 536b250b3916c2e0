"""Search algorithms: the shared `Searcher` loop and its algorithms."""

from .darts import DartsSearcher
from .pnas import ProxylessNasSearcher
from .search import Searcher

__all__ = ["DartsSearcher", "ProxylessNasSearcher", "Searcher"]
