"""Tests of `nnabla_nas.contrib.model.Model`: the net / arch split, summary, save_arch."""

import os

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.utils.io import load_h5_parameters


class Toy(Model):
    """A conv, a MixedOp, and two parameters whose names lie about their group."""

    def __init__(self):
        self.conv = Mo.Conv(2, 2, (3, 3), pad=(1, 1))
        self.mixed = Mo.MixedOp([Mo.Identity(), Mo.Zero()])
        self.alpha = Mo.Parameter((3,))            # a weight named "alpha"
        tagged = Mo.Parameter((2,))                # an arch parameter named "_W"
        tagged.is_arch = True
        self.frozen = Mo.Conv(2, 2, (1, 1), fix_parameters=True)
        self.frozen._W = tagged

    def call(self, x):
        return self.mixed(self.conv(x))


def test_split_by_tag_not_by_name():
    model = Toy()
    net, arch = model.get_net_parameters(), model.get_arch_parameters()
    assert set(arch) == {"mixed/_alpha", "frozen/_W"}
    assert set(net) == {"conv/_W", "conv/_b", "alpha", "frozen/_b"}
    everything = model.get_parameters()
    assert set(net) | set(arch) == set(everything) and not set(net) & set(arch)
    assert all(p is everything[k] for k, p in {**net, **arch}.items())


def test_grad_only_is_passed_through():
    model = Toy()
    assert "frozen/_b" in model.get_net_parameters()
    assert "frozen/_b" not in model.get_net_parameters(grad_only=True)
    model.mixed.need_grad = False
    assert model.get_arch_parameters(grad_only=True) == {"frozen/_W": model.frozen._W}
    model.frozen._W.need_grad = False
    assert model.get_arch_parameters(grad_only=True) == {}


def test_summary_counts():
    text = Toy().summary()
    assert text.startswith("Toy:")
    # frozen/_b is fixed: counted in all, not as trainable.
    assert f"{2 * 2 * 9 + 2 + 3:,} trainable net parameters ({2 * 2 * 9 + 2 + 3 + 2:,} in all, " \
        "in 4 arrays)" in text
    assert "4 arch parameters in 2 arrays" in text and "1 MixedOps" in text


def test_save_arch_writes_only_arch_parameters(tmp_path):
    model = Toy()
    model.mixed._alpha.d = np.array([1.0, -1.0]).reshape(2, 1, 1, 1, 1)
    folder = str(tmp_path / "new" / "folder")
    model.save_arch(folder)
    saved = load_h5_parameters(os.path.join(folder, "arch.h5"))
    assert list(saved) == list(model.get_arch_parameters())
    np.testing.assert_array_equal(saved["mixed/_alpha"], model.mixed._alpha.d)
    assert sorted(os.listdir(folder)) == ["arch.h5"]       # no temporary file left


def test_task_methods_are_abstract():
    with pytest.raises(NotImplementedError, match="ClassificationModel"):
        Toy().loss(None, None)
    with pytest.raises(NotImplementedError, match="ClassificationModel"):
        Toy().metrics(None, None)


def test_argmax_operators_take_each_distinct_alpha_once():
    shared = Mo.Parameter((2, 1, 1, 1, 1), initializer=np.array([0.0, 1.0]).reshape(2, 1, 1, 1, 1))

    class Net(Model):
        def __init__(self):
            self.a = Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=shared)
            self.b = Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=shared)
            self.c = Mo.MixedOp([Mo.AvgPool((2, 2)), Mo.MaxPool((2, 2)), Mo.Identity()])

    net = Net()
    assert net.argmax_operators() == [net.a.ops[1], net.c.ops[0]]  # zeros: the lower index
