"""Input helpers shared by the search-space tests."""

import nnabla as nn
import numpy as np


def random_input(shape, seed=0):
    """A random input Variable of ``shape``."""
    x = nn.Variable(shape)
    x.d = np.random.RandomState(seed).randn(*shape)
    return x


def make_labels(labels):
    """An ``(N, 1)`` label Variable."""
    t = nn.Variable((len(labels), 1))
    t.d = np.asarray(labels).reshape(-1, 1)
    return t
