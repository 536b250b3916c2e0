"""The DARTS cell search space: `SearchNet` (a MixedOp on every edge) and
`TrainNet` (built from the exported ``arch.json`` genotype).

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

from .ops import CANDIDATES
from .search import SearchNet
from .train import TrainNet

__all__ = ["CANDIDATES", "SearchNet", "TrainNet"]
