"""Torch-like Modules over nnabla, and the `MixedOp` choice point.

Import as ``from nnabla_nas import module as Mo``.
"""

from .activation import LeakyReLU, ReLU, ReLU6
from .batchnorm import BatchNormalization
from .container import ModuleList, ParameterList, Sequential
from .convolution import Conv, DwConv
from .dropout import Dropout
from .identity import Identity
from .linear import Linear
from .merging import Merging
from .mixedop import MixedOp
from .module import Module
from .operation import Lambda
from .parameter import Parameter
from .pooling import AvgPool, GlobalAvgPool, MaxPool
from .shared_kernel import SharedKernel
from .zero import Zero

__all__ = [
    "AvgPool", "BatchNormalization", "Conv", "Dropout", "DwConv", "GlobalAvgPool",
    "Identity", "Lambda", "LeakyReLU", "Linear", "MaxPool", "Merging", "MixedOp",
    "Module", "ModuleList", "Parameter", "ParameterList", "ReLU", "ReLU6", "Sequential",
    "SharedKernel", "Zero",
]
