"""Fixtures of the DARTS space tests: a hand-written genotype and tiny inputs."""

import copy

import nnabla as nn
import numpy as np
import pytest

# DARTS-V2's CIFAR-10 cells, written in our arch.json layout.
DARTS_V2 = {
    "num_nodes": 4,
    "normal": [
        [{"op": "sep_conv_3x3", "input": 0}, {"op": "sep_conv_3x3", "input": 1}],
        [{"op": "sep_conv_3x3", "input": 0}, {"op": "sep_conv_3x3", "input": 1}],
        [{"op": "sep_conv_3x3", "input": 1}, {"op": "skip_connect", "input": 0}],
        [{"op": "skip_connect", "input": 0}, {"op": "dil_conv_3x3", "input": 2}],
    ],
    "reduce": [
        [{"op": "max_pool_3x3", "input": 0}, {"op": "max_pool_3x3", "input": 1}],
        [{"op": "skip_connect", "input": 2}, {"op": "max_pool_3x3", "input": 1}],
        [{"op": "max_pool_3x3", "input": 0}, {"op": "skip_connect", "input": 2}],
        [{"op": "skip_connect", "input": 2}, {"op": "max_pool_3x3", "input": 1}],
    ],
}


@pytest.fixture
def genotype():
    """A fresh copy of DARTS-V2 (tests may edit it)."""
    return copy.deepcopy(DARTS_V2)


def make_input(shape=(2, 1, 8, 8), seed=0):
    """A random input Variable."""
    x = nn.Variable(shape)
    x.d = np.random.RandomState(seed).randn(*shape)
    return x


def make_labels(labels):
    """An ``(N, 1)`` label Variable."""
    t = nn.Variable((len(labels), 1))
    t.d = np.asarray(labels).reshape(-1, 1)
    return t
