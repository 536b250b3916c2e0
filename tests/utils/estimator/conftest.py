"""A small search network with one choice point, and helpers to pick its path."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo

#: Operator indices of the choice point.
CONV, POOL, SKIP = 0, 1, 2
#: Parameter elements: stem conv 3->32 3x3 (+bias), stem batch norm (4 x 32),
#: choice conv 32->32 3x3 (+bias).
STEM_PARAMS = 32 * 3 * 3 * 3 + 32 + 4 * 32
CONV_PARAMS = 32 * 32 * 3 * 3 + 32


class Net(Mo.Module):
    """stem (conv, batch norm, relu) -> MixedOp(conv 3x3 | max pool | identity).

    On a ``1x3x32x32`` input the choice point sees ``1x32x32x32``. ``unused``
    is never called.
    """

    def __init__(self, mode: str = "max", extra_ops=()):
        rng = np.random.RandomState(0)
        self.stem = Mo.Sequential(Mo.Conv(3, 32, (3, 3), pad=(1, 1), rng=rng),
                                  Mo.BatchNormalization(32, 4), Mo.ReLU())
        self.mixed = Mo.MixedOp([Mo.Conv(32, 32, (3, 3), pad=(1, 1), rng=rng),
                                 Mo.MaxPool((3, 3), (1, 1), (1, 1)), Mo.Identity(),
                                 *extra_ops], mode=mode)
        self.unused = Mo.Conv(32, 8, (1, 1), rng=rng)

    def call(self, x):
        return self.mixed(self.stem(x))


def build(net: Net, choice: int = None):
    """Sets ``alpha`` so that ``max`` mode picks ``choice`` (if given), then
    builds the graph on a ``1x3x32x32`` input; returns the output."""
    if choice is not None:
        alpha = np.zeros(net.mixed._alpha.shape, dtype=np.float32)
        alpha[choice] = 5.0
        net.mixed._alpha.d = alpha
    x = nn.Variable.from_numpy_array(np.random.RandomState(1).randn(1, 3, 32, 32))
    return net(x)


@pytest.fixture
def net():
    """A fresh :class:`Net` in ``max`` mode."""
    return Net()
