"""Fixtures of the DARTS space tests: a hand-written genotype and tiny inputs."""

import copy

import pytest

from ..helpers import make_labels, random_input  # noqa: F401 (re-exported)

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
    return random_input(shape, seed)


