import nnabla as nn
import nnabla.initializer as I
import numpy as np
import pytest

from nnabla_nas.module import Parameter


def test_default_is_zeros_with_zero_grad():
    p = Parameter((2, 3))
    assert isinstance(p, nn.Variable)
    assert p.shape == (2, 3) and p.need_grad
    np.testing.assert_array_equal(p.d, np.zeros((2, 3)))
    np.testing.assert_array_equal(p.g, np.zeros((2, 3)))


def test_array_initializer_and_shape_check():
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(Parameter((2, 3), initializer=value).d, value)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        Parameter((2, 3), initializer=value.reshape(3, 2))


def test_callable_initializer_and_need_grad():
    p = Parameter((4, 5), need_grad=False,
                  initializer=I.ConstantInitializer(2.5))
    assert not p.need_grad
    np.testing.assert_array_equal(p.d, np.full((4, 5), 2.5))
    r = Parameter((100,), initializer=I.UniformInitializer((-1, 1), rng=np.random.RandomState(0)))
    assert -1 <= r.d.min() < -0.5 and 0.5 < r.d.max() <= 1


def test_bad_initializer_type():
    with pytest.raises(TypeError, match="initializer"):
        Parameter((2,), initializer="ones")


def test_arch_tag_defaults_false():
    assert Parameter((1,)).is_arch is False
