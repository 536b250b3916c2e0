import pytest

from nnabla_nas.utils.estimator import Estimator, MemoryEstimator

from .conftest import POOL, STEM_PARAMS, build


class Fixed(Estimator):
    def __init__(self, cost, **kwargs):
        super().__init__(**kwargs)
        self.cost = cost

    def predict(self, model):
        return self.cost


@pytest.mark.parametrize("cost, bound, weight, expected", [
    (3.0, 5.0, 0.7, 1.0),          # under the bound
    (5.0, 5.0, 0.7, 1.0),          # at the bound
    (0.0, 5.0, 0.7, 1.0),          # free
    (10.0, 5.0, 1.0, 0.5),         # (bound / cost) ** weight above it
    (20.0, 5.0, 0.5, 0.5),
    (20.0, 5.0, 0.0, 1.0),         # weight 0 disables the regularizer
])
def test_factor(cost, bound, weight, expected):
    assert Fixed(cost, weight=weight, bound=bound).factor(None) == pytest.approx(expected)


def test_factor_of_memory_estimator_is_exact(net):
    build(net, POOL)
    bytes_ = 4 * STEM_PARAMS
    assert MemoryEstimator(weight=1.0, bound=bytes_, unit="B").factor(net) == 1.0
    assert MemoryEstimator(weight=1.0, bound=bytes_ / 2, unit="B").factor(net) == 0.5
    assert MemoryEstimator(weight=3.0, bound=bytes_ / 2, unit="B").factor(net) == 0.125


@pytest.mark.parametrize("kwargs, message", [({"weight": -1}, "weight must be >= 0"),
                                             ({"bound": 0}, "bound must be > 0"),
                                             ({"bound": float("nan")}, "bound must be > 0")])
def test_invalid_weight_or_bound(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MemoryEstimator(**kwargs)


def test_base_predict_is_abstract():
    with pytest.raises(NotImplementedError, match="Estimator does not implement predict"):
        Estimator().predict(None)


def test_repr():
    assert repr(MemoryEstimator(0.1, 2)) == "MemoryEstimator(weight=0.1, bound=2.0, unit='MB')"
