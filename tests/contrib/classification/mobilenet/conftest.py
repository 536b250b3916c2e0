"""Helpers of the MobileNetV2 space tests: tiny inputs, labels, planted alphas."""

import numpy as np

from nnabla_nas import module as Mo

from ..helpers import make_labels, random_input  # noqa: F401 (re-exported)

#: A tiny stage table: blocks 16->16 s1 (skip), 16->8 s1, 8->16 s2, 16->16 s1 (skip).
TINY = [[16, 1, 1], [8, 1, 1], [16, 2, 2]]


def make_input(shape=(2, 3, 32, 32), seed=0):
    """A random input Variable."""
    return random_input(shape, seed)


def mixed_ops(net):
    """The MixedOps of ``net``, in network order."""
    return [m for _, m in net.get_modules() if isinstance(m, Mo.MixedOp)]


def plant(net, choices, value=3.0):
    """Sets each block's alpha to ``value`` at index ``choices[i]``, zero elsewhere."""
    for block, index in zip(net.blocks, choices):
        d = np.zeros(block._alpha.shape)
        d[index] = value
        block._alpha.d = d
