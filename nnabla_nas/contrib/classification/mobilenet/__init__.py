"""The MobileNetV2 search space, ProxylessNAS style: `SearchNet` (a MixedOp
over inverted residuals ``MB{3,6} {3x3,5x5,7x7}`` and ``skip`` in every
block) and `TrainNet` (built from the argmax of the searched ``arch.h5``).

References:
    Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and
    Linear Bottlenecks. CVPR 2018.
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
"""

from .blocks import CANDIDATES, SKIP
from .network import CIFAR_SETTINGS, IMAGENET_SETTINGS
from .search import SearchNet
from .train import TrainNet

__all__ = ["CANDIDATES", "CIFAR_SETTINGS", "IMAGENET_SETTINGS", "SKIP", "SearchNet",
           "TrainNet"]
