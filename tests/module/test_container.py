from collections import OrderedDict

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo


def test_module_list_operations():
    a, b, c = Mo.Identity(), Mo.ReLU(), Mo.ReLU6()
    ml = Mo.ModuleList([a])
    ml.append(b)
    ml += [c]
    assert len(ml) == 3 and list(ml) == [a, b, c]
    assert ml.index(b) == 1 and ml[-1] is c
    sub = ml[1:]
    assert isinstance(sub, Mo.ModuleList) and list(sub) == [b, c]
    ml.insert(0, c)
    assert list(ml) == [c, a, b, c]
    del ml[0]
    assert list(ml) == [a, b, c]
    assert list(ml.modules) == ["0", "1", "2"]
    ml.extend([Mo.Identity()])
    assert len(ml) == 4


def test_module_list_registers_parameters():
    ml = Mo.ModuleList([Mo.Linear(2, 3), Mo.Linear(3, 1)])
    assert list(ml.get_parameters()) == ["0/_W", "0/_b", "1/_W", "1/_b"]


@pytest.mark.parametrize("bad", [3, "conv", nn.Variable((1,))])
def test_module_list_rejects_non_modules(bad):
    with pytest.raises(TypeError, match=repr(bad).replace("(", r"\(").replace(")", r"\)")[:20]):
        Mo.ModuleList([Mo.Identity(), bad])
    with pytest.raises(TypeError, match="ModuleList accepts only Module"):
        Mo.ModuleList().append(bad)


def test_parameter_list():
    p, q = Mo.Parameter((1,)), Mo.Parameter((2,))
    pl = Mo.ParameterList([p])
    pl.append(q)
    assert list(pl) == [p, q] and len(pl) == 2
    assert list(pl.get_parameters()) == ["0", "1"]
    with pytest.raises(TypeError, match="ParameterList accepts only Parameter"):
        pl.append(Mo.Identity())
    with pytest.raises(TypeError, match="ndarray"):
        Mo.ParameterList([np.zeros(2)])


def test_sequential_positional_and_ordered_dict():
    x = nn.Variable.from_numpy_array(np.array([[-1.0, 2.0, 7.0]]))
    seq = Mo.Sequential(Mo.ReLU(), Mo.ReLU6())
    y = seq(x)
    y.forward()
    np.testing.assert_array_equal(y.d, [[0, 2, 6]])
    named = Mo.Sequential(OrderedDict([("act", Mo.ReLU()), ("clip", Mo.ReLU6())]))
    assert list(named.modules) == ["act", "clip"]
    assert isinstance(named[0], Mo.ReLU)
    assert isinstance(seq[1:], Mo.Sequential) and len(seq[1:]) == 1
    with pytest.raises(TypeError, match="'relu'"):
        Mo.Sequential(OrderedDict([("act", "relu")]))
