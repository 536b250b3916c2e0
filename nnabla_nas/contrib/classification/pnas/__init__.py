"""The DARTS cell space searched the ProxylessNAS way (one sampled path per step).

References:
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
"""

from .search import SearchNet
from .train import TrainNet

__all__ = ["SearchNet", "TrainNet"]
