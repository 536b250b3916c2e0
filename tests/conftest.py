"""Shared fixtures: every test starts from a clean nnabla global state."""

import os

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.utils import import_cache

# What set_context() does when a run starts: the tests build graphs as runs do
# (tests/utils/test_import_cache.py checks the results equal plain nnabla's).
import_cache.install()

SHARED_DATA = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..",
                                            "shared", "data", "natural10_dev.npz"))


@pytest.fixture(autouse=True)
def nnabla_state():
    """Resets nnabla's parameters, context, auto-forward and the numpy and nnabla seeds."""
    ctx = nn.get_current_context()
    auto = nn.get_auto_forward()
    nn.clear_parameters()
    np.random.seed(313)
    nn.random.seed(313)
    yield
    nn.clear_parameters()
    nn.set_default_context(ctx)
    nn.set_auto_forward(auto)


@pytest.fixture
def rng():
    """A fixed numpy random state."""
    return np.random.RandomState(0)


def pytest_collection_modifyitems(items):
    """Runs the end-to-end (``slow``) tests first: ``make test`` spreads whole files
    over two workers (pytest-xdist ``--dist loadfile``), and a long file started
    last would leave one worker idle while the other finishes it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
