import os

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo


class Block(Mo.Module):
    def __init__(self):
        self.conv = Mo.Conv(3, 4, (3, 3), pad=(1, 1))
        self.bn = Mo.BatchNormalization(4, 4)
        self.scale = Mo.Parameter((1, 1, 1, 1), initializer=np.ones((1, 1, 1, 1), np.float32))

    def call(self, x):
        return self.bn(self.conv(x)) * self.scale


class Net(Mo.Module):
    def __init__(self):
        self.block = Block()
        self.head = Mo.Linear(4 * 4 * 4, 2)

    def call(self, x):
        return self.head(self.block(x))


def test_registration_and_order():
    net = Net()
    assert list(net.modules) == ["block", "head"]
    assert list(net.block.parameters) == ["scale"]
    assert list(net.block.modules) == ["conv", "bn"]
    # Re-assigning a name to a non-module unregisters it.
    net.head = None
    assert list(net.modules) == ["block"]


def test_get_modules_names():
    names = [name for name, _ in Net().get_modules()]
    assert names == ["", "block", "block/conv", "block/bn", "head"]
    assert [n for n, _ in Net().get_modules(prefix="net")][1] == "net/block"


def test_get_parameters_names_and_grad_only():
    net = Net()
    params = net.get_parameters()
    # A module's own parameters come before its children's.
    assert list(params) == ["block/scale", "block/conv/_W", "block/conv/_b",
                            "block/bn/_beta", "block/bn/_gamma", "block/bn/_mean",
                            "block/bn/_var", "head/_W", "head/_b"]
    grad = net.get_parameters(grad_only=True)
    assert "block/bn/_mean" not in grad and "block/bn/_var" not in grad
    net.block.apply(need_grad=False)
    assert list(net.get_parameters(grad_only=True)) == ["head/_W", "head/_b"]
    assert len(net.get_parameters()) == 9


def test_shared_parameter_listed_once():
    class Twice(Mo.Module):
        def __init__(self):
            self.a = Mo.Linear(2, 2)
            self.b = Mo.Linear(2, 2)
            self.b._W = self.a._W

    params = Twice().get_parameters()
    assert list(params) == ["a/_W", "a/_b", "b/_b"]


def test_apply_sets_attributes_recursively_and_returns_self():
    net = Net()
    assert net.apply(training=False) is net
    assert all(not m.training for _, m in net.get_modules())
    assert net.training is False and Mo.Conv(1, 1, (1, 1)).training is True


def test_call_records_input_shapes():
    net = Net()
    x = nn.Variable((2, 3, 4, 4))
    y = net(x)
    assert net.input_shapes == [(2, 3, 4, 4)]
    assert net.head.input_shapes == [(2, 4, 4, 4)]
    assert y.shape == (2, 2)


def test_call_not_implemented():
    with pytest.raises(NotImplementedError, match="Module"):
        Mo.Module()(nn.Variable((1,)))


def test_save_load_round_trip_readable_by_nnabla(tmp_path):
    path = str(tmp_path / "w.h5")
    net = Net()
    net.save_parameters(path)
    assert os.listdir(tmp_path) == ["w.h5"]  # no temporary file left behind
    saved = {k: v.d.copy() for k, v in net.get_parameters().items()}

    # nnabla itself reads the file.
    nn.load_parameters(path)
    loaded = nn.get_parameters(grad_only=False)
    assert set(loaded) == set(saved)
    for k in saved:
        np.testing.assert_array_equal(loaded[k].d, saved[k])
    assert loaded["block/bn/_mean"].need_grad is False

    other = Net()
    assert not np.allclose(other.head._W.d, saved["head/_W"])
    other.load_parameters(path, raise_if_missing=True)
    for k, v in other.get_parameters().items():
        np.testing.assert_array_equal(v.d, saved[k])


def test_save_grad_only(tmp_path):
    path = str(tmp_path / "g.h5")
    Net().save_parameters(path, grad_only=True)
    nn.load_parameters(path)
    assert "block/bn/_var" not in nn.get_parameters(grad_only=False)


def test_set_parameters_errors():
    net = Net()
    with pytest.raises(ValueError, match="missing"):
        net.set_parameters({}, raise_if_missing=True)
    with pytest.raises(ValueError, match="head/_W"):
        net.set_parameters({"head/_W": np.zeros((3, 3))})
    net.set_parameters({"head/_b": np.ones(2)})
    np.testing.assert_array_equal(net.head._b.d, np.ones(2))


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        Net().load_parameters(str(tmp_path / "nope.h5"))


def test_str_of_nested_model():
    text = str(Net())
    assert text.splitlines()[0] == "Net("
    assert "  (block): Block(" in text
    assert "    (conv): Conv(in_channels=3, out_channels=4, kernel=(3, 3)" in text
    assert "  (head): Linear(in_features=64, out_features=2, bias=True)" in text
    assert text.endswith(")")


def test_grad_only_respects_root_need_grad():
    net = Net()
    net.need_grad = False
    assert len(net.get_parameters(grad_only=True)) == 0
    assert len(net.get_parameters()) == 9
