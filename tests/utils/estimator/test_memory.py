import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.utils.estimator import MemoryEstimator

from .conftest import CONV, CONV_PARAMS, POOL, SKIP, STEM_PARAMS, Net, build


@pytest.mark.parametrize("choice, params", [(CONV, STEM_PARAMS + CONV_PARAMS),
                                            (POOL, STEM_PARAMS), (SKIP, STEM_PARAMS)])
def test_memory_of_the_active_path(net, choice, params):
    build(net, choice)
    assert MemoryEstimator().count(net) == params
    assert MemoryEstimator(unit="B").predict(net) == 4 * params
    assert MemoryEstimator(unit="KB").predict(net) == pytest.approx(4 * params / 1e3)
    assert MemoryEstimator().predict(net) == pytest.approx(4 * params / 1e6)


def test_full_mode_counts_every_operator_but_not_alpha():
    net = Net(mode="full")
    build(net)
    # alpha (3 values) is an architecture parameter, not part of the network.
    assert MemoryEstimator(unit="B").predict(net) == 4 * (STEM_PARAMS + CONV_PARAMS)


def test_hand_counted_shapes():
    conv = Mo.Conv(4, 6, (5, 5), with_bias=False)
    dw = Mo.DwConv(6, (3, 3))
    linear = Mo.Linear(6, 10)
    net = Mo.Sequential(conv, dw, Mo.GlobalAvgPool(), linear)
    net(Mo.Parameter((2, 4, 9, 9)))
    expected = 6 * 4 * 5 * 5 + (6 * 3 * 3 + 6) + (6 * 10 + 10)
    assert MemoryEstimator().count(net) == expected


class Tied(Mo.Module):
    """Two convolutions sharing one weight, plus a ParameterList of scales."""

    def __init__(self):
        self.a = Mo.Conv(3, 3, (1, 1), with_bias=False)
        self.b = Mo.Conv(3, 3, (1, 1), with_bias=False)
        self.b._W = self.a._W
        self.scales = Mo.ParameterList([Mo.Parameter((1, 3, 1, 1))])

    def call(self, x):
        return self.b(self.a(x)) * self.scales[0]


def test_shared_parameter_counted_once_and_parameter_lists_counted():
    net = Tied()
    net(Mo.Parameter((1, 3, 4, 4)))
    assert MemoryEstimator().count(net) == 9 + 3


def test_a_shared_kernel_counts_the_weights_it_reads():
    """A 3x3 candidate on the centre of a 5x5 one's kernel costs what the
    network found (with its own 3x3 kernel) will hold."""
    from nnabla_nas.contrib.classification.darts.ops import CANDIDATES, build_candidates
    counts = []
    for share in (False, True):
        mixed = Mo.MixedOp(build_candidates(4, 1, True, share_kernels=share), mode="sample")
        d = np.full(len(CANDIDATES), -30.0)
        d[CANDIDATES.index("sep_conv_3x3")] = 0
        mixed.alpha.d = d.reshape(mixed.alpha.shape)
        mixed(Mo.Parameter((1, 4, 6, 6)))
        counts.append(MemoryEstimator().count(mixed))
    # two blocks of (4 x 3x3 depthwise + 4x4 pointwise + 4 x 2 batch-norm statistics)
    assert counts == [2 * (4 * 9 + 16 + 4 * 4)] * 2


def test_nothing_built_costs_nothing(net):
    assert MemoryEstimator().predict(net) == 0


def test_unknown_unit():
    with pytest.raises(ValueError, match="unknown memory unit 'GB'; valid units: B, KB, MB"):
        MemoryEstimator(unit="GB")


def test_factor_regularizes_the_memory(net):
    build(net, CONV)
    mb = 4 * (STEM_PARAMS + CONV_PARAMS) / 1e6
    assert MemoryEstimator(weight=0.5, bound=1.0).factor(net) == 1.0
    assert MemoryEstimator(weight=0.5, bound=mb / 4).factor(net) == pytest.approx(0.5)
    np.testing.assert_allclose(MemoryEstimator(weight=2, bound=0.01).factor(net),
                               (0.01 / mb) ** 2, rtol=1e-12)
