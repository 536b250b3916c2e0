"""The ``onnxruntime`` runtime of LatencyEstimator and the ONNX Runtime timers."""

import json

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib import mobilenet
from nnabla_nas.export.latency import profile_module
from nnabla_nas.utils.estimator import LatencyEstimator
from nnabla_nas.utils.estimator.active import active_operators

pytest.importorskip("onnxruntime")
FAST = {"n_run": 3, "warmup": 1}


def tiny_search(choices=(0, 2, 1)):
    net = mobilenet.SearchNet(10, width_mult=0.5, settings=[[8, 1, 1], [16, 2, 2]],
                              in_channels=1, stem_stride=1, mode="max")
    for block, k in zip(net.blocks, choices):
        d = np.zeros(block._alpha.shape)
        d[k] = 1.0
        block._alpha.d = d
    with nn.no_grad():
        net(nn.Variable((1, 1, 8, 8)))
    return net


def test_units_are_chosen_operators_and_layer_sequences_whole():
    net = tiny_search()
    units = active_operators(net)
    names = [name for name, _ in units]
    # Outside the choice points: conv-BN-ReLU6 sequences whole, and single leaves.
    assert names == ["stem", "first_block/conv", "blocks/0/_ops/0", "blocks/1/_ops/2",
                     "blocks/2/_ops/1", "last_conv", "global_pool", "dropout", "classifier"]


def test_onnxruntime_estimate_and_its_table_round_trip(tmp_path):
    net = tiny_search()
    est = LatencyEstimator(runtime="onnxruntime", **FAST)
    first = est.predict(net)
    units = len({type(m).__name__ + m.extra_repr() + str(m.input_shapes)
                 for _, m in active_operators(net)})
    # One entry per distinct unit (Dropout, an identity in inference, costs 0 untimed)
    # and the run overhead.
    assert first > 0 and len(est.latencies) == units + 1 and est.n_measurements == units - 1
    assert est.target_context() == "onnxruntime:cpu:threads=1"
    path = tmp_path / "ort.json"
    est.save_table(str(path))
    data = json.loads(path.read_text())
    assert data["runtime"] == "onnxruntime" and data["input_shape"] == [1, 8, 8]
    assert "onnxruntime" in data["device"]
    assert any(e["layer"] == "RunOverhead" for e in data["entries"])
    # Another machine: the table drives the estimate, nothing is measured.
    other = LatencyEstimator(runtime="onnxruntime", table=str(path), **FAST)
    assert other.predict(net) == pytest.approx(first) and other.n_measurements == 0
    # A path with an operator the table lacks is measured here (same runtime and threads).
    for block in net.blocks:
        block._alpha.d = np.roll(block._alpha.d, 1, axis=0)
    with nn.no_grad():
        net(nn.Variable((1, 1, 8, 8)))
    assert other.predict(net) > 0 and other.n_measurements > 0


def test_identity_costs_nothing_and_two_input_modules_are_refused():
    identity = Mo.Identity()
    identity(nn.Variable((1, 4)))
    assert profile_module(identity, **FAST) is None
    merge = Mo.Merging("add")
    merge(nn.Variable((1, 4)), nn.Variable((1, 4)))
    with pytest.raises(RuntimeError, match="times modules of one Variable input"):
        profile_module(merge, **FAST)


class TwoBranches(Mo.Module):
    """A network whose last layer, outside any choice point, takes two inputs."""

    def __init__(self):
        self.left = Mo.Sequential(Mo.Linear(4, 4), Mo.ReLU())  # timed whole
        self.right, self.merge = Mo.ReLU6(), Mo.Merging("add")

    def call(self, x):
        return self.merge(self.left(x), self.right(x))


def test_a_unit_with_two_inputs_is_one_line_naming_it():
    net = TwoBranches()
    with nn.no_grad():
        net(nn.Variable((1, 4)))
    est = LatencyEstimator(runtime="onnxruntime", **FAST)
    with pytest.raises(RuntimeError) as info:
        est.predict(net)
    message = str(info.value)
    assert "\n" not in message and message.startswith("layer 'merge': ")
    assert "Merging was called on input shapes [(1, 4), (1, 4)]" in message


def test_layout_conversions_of_a_module_alone_are_read_from_the_profiler(tmp_path):
    """A convolution alone runs between ONNX Runtime's conversions into and out of
    its blocked layout; inside a network it does not, so they are taken off."""
    from nnabla_nas.export.latency import exported, layout_seconds
    conv, relu = Mo.Conv(16, 16, (1, 1)), Mo.ReLU()
    x = np.random.RandomState(0).randn(1, 16, 8, 8)
    with exported(conv, (16, 8, 8)) as path:
        assert layout_seconds(path, x, **FAST) > 0
    with exported(relu, (16, 8, 8)) as path:
        assert layout_seconds(path, x, **FAST) == 0
