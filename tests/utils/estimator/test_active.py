import nnabla as nn
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.utils.estimator import active_layers, active_modules

from .conftest import CONV, POOL, SKIP, Net, build


def ids(modules):
    return [id(m) for m in modules]


@pytest.mark.parametrize("choice", [CONV, POOL, SKIP])
def test_max_mode_follows_the_chosen_operator(net, choice):
    build(net, choice)
    assert net.mixed.active_index == choice
    expected = list(net.stem) + [net.mixed._ops[choice]]
    assert ids(active_layers(net)) == ids(expected)


def test_path_changes_with_each_build(net):
    build(net, CONV)
    assert net.mixed._ops[CONV] in active_layers(net)
    build(net, POOL)
    layers = active_layers(net)
    assert net.mixed._ops[POOL] in layers and net.mixed._ops[CONV] not in layers


def test_sample_mode_follows_active_index():
    net = Net(mode="sample")
    for _ in range(5):
        build(net)
        chosen = net.mixed._ops[net.mixed.active_index]
        assert ids(active_layers(net)) == ids(list(net.stem) + [chosen])


def test_full_mode_takes_every_called_operator():
    net = Net(mode="full", extra_ops=[Mo.Zero()])
    build(net)
    ops = list(net.mixed._ops)
    # The Zero operator is never built in full mode: it is not on the path.
    assert ids(active_layers(net)) == ids(list(net.stem) + ops[:3])


def test_uncalled_modules_are_skipped(net):
    assert active_layers(net) == []
    build(net, POOL)
    assert net.unused not in active_layers(net)


def test_names_show_the_chosen_operator(net):
    build(net, POOL)
    names = [name for name, _ in active_modules(net)]
    assert names == ["", "stem", "stem/0", "stem/1", "stem/2", "mixed", "mixed/_ops/1"]


def test_mode_changed_since_last_call_is_an_error(net):
    net.mixed.mode = "full"
    build(net)
    net.mixed.mode = "max"
    with pytest.raises(ValueError, match="'mixed': a MixedOp .* is in 'max' mode"):
        active_layers(net)


def test_shared_module_counted_once():
    relu = Mo.ReLU()
    seq = Mo.Sequential(relu, relu)
    seq(nn.Variable((1, 2)))
    assert active_layers(seq) == [relu]
