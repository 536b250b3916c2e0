"""`nnabla_nas.export.export`: ONNX Runtime and NnpLoader outputs against the
Module graph's, on the digits test split, for the three search spaces."""

import os
import zipfile

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.dataset.transforms import normalize
from nnabla_nas.export import ExportError, export, run_file
from nnabla_nas.export.graph import build_inference_graph

onnx = pytest.importorskip("onnx")


def module_outputs(net, x, batch_size):
    """The Module graph in inference mode, ``batch_size`` images at a time."""
    graph = build_inference_graph(net, x.shape[1:], batch_size)
    out = []
    for start in range(0, len(x), batch_size):
        graph.x.d = x[start:start + batch_size]
        graph.y.forward(clear_buffer=True)
        out.append(graph.y.d.copy())
    return np.concatenate(out)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_onnx_and_nnp_equal_the_module_graph_on_the_test_split(space_net, digits, tmp_path,
                                                               batch_size):
    name, net = space_net
    count = 96 if batch_size == 8 else 24       # whole batches of the 359 test images
    x = normalize(digits.test_x[:count], digits.mean, digits.std)
    reference = module_outputs(net, x, batch_size)
    for fmt in ("onnx", "nnp"):
        path = str(tmp_path / f"net.{fmt}")
        result = export(net, path, (1, 8, 8), batch_size=batch_size)
        assert result.max_abs_diff <= 1e-5
        got = run_file(path, x, batch_size)
        diff = np.abs(got - reference).max()
        assert diff <= 1e-5, f"{name} {fmt} batch {batch_size}: {diff}"
        assert np.array_equal(got.argmax(1), reference.argmax(1)), f"{name} {fmt}"
    # The network is left in training mode (the export restores every module's mode),
    # whose outputs (batch statistics) are far from these: the check above is sharp.
    assert all(m.training for _, m in net.get_modules())
    if batch_size == 8:
        v = nn.Variable((8, 1, 8, 8))
        v.d = x[:8]
        y = net(v)
        y = y[0] if isinstance(y, tuple) else y
        y.forward()
        assert np.abs(y.d - reference[:8]).max() > 0.05


@pytest.mark.parametrize("fmt", ["onnx", "nnp"])
def test_a_candidate_on_another_ones_weights_exports_as_its_own_network(tmp_path, fmt):
    """A MobileNetV2 candidate whose convolutions read MB6 7x7's weights
    (share_kernels) exports alone, with weights of its own, and computes what
    it computes in the search network."""
    from nnabla_nas.contrib.classification.mobilenet.blocks import build_candidates
    np.random.seed(0)
    names = ["MB3 3x3", "MB6 7x7"]
    small, _ = build_candidates(names, 8, 8, 1, share_kernels=True)
    unit = Mo.Sequential(small)
    x = np.random.RandomState(1).randn(4, 8, 6, 6)
    path = str(tmp_path / f"unit.{fmt}")
    export(unit, path, (8, 6, 6), batch_size=4)
    np.testing.assert_allclose(run_file(path, x), module_outputs(unit, x, 4), atol=1e-5)
    graph = build_inference_graph(unit, (8, 6, 6), 4)
    assert sorted(k for k in graph.parameters if k.endswith("_W")) == \
        ["0/conv/0/_W", "0/conv/3/_W", "0/conv/6/_W"]
    assert graph.parameters["0/conv/3/_W"].shape == (24, 3, 3)
    assert not any(m.detached for _, m in unit.get_modules() if isinstance(m, Mo.SharedKernel))


def test_nnp_holds_every_parameter_and_loads_at_any_batch_size(tmp_path):
    net = Mo.Sequential(Mo.Conv(1, 3, (3, 3), pad=(1, 1)), Mo.BatchNormalization(3, 4),
                        Mo.ReLU6(), Mo.GlobalAvgPool(), Mo.Linear(3, 2))
    for p in net.get_parameters().values():
        p.d = np.random.RandomState(0).uniform(0.5, 1.5, p.shape)
    path = str(tmp_path / "net.nnp")
    export(net, path, (1, 4, 4), batch_size=2)
    with zipfile.ZipFile(path) as z:
        assert "parameter.h5" in z.namelist()
    x = np.random.RandomState(1).randn(5, 1, 4, 4)
    np.testing.assert_allclose(run_file(path, x), module_outputs(net, x, 5), atol=1e-6)
    assert not nn.get_parameters(grad_only=False), "the export left global parameters"


def test_normalization_in_the_graph_takes_pixels(tmp_path, digits):
    net = Mo.Sequential(Mo.Conv(1, 4, (3, 3)), Mo.ReLU(), Mo.GlobalAvgPool(), Mo.Linear(4, 3))
    path = str(tmp_path / "net.onnx")
    result = export(net, path, (1, 8, 8), batch_size=4, normalization=(digits.mean, digits.std))
    assert "pixels 0..255" in result.input
    raw = digits.test_x[:4]
    pixels = raw.transpose(0, 3, 1, 2).astype(np.float32)
    expected = module_outputs(net, normalize(raw, digits.mean, digits.std), 4)
    np.testing.assert_allclose(run_file(path, pixels), expected, atol=1e-5)


def test_onnx_is_compact_relu6_and_avg_pool_map_to_single_ops(tmp_path):
    from .conftest import mobilenet_net, randomize
    net = randomize(mobilenet_net(tmp_path))
    path = str(tmp_path / "net.onnx")
    export(net, path, (1, 8, 8), batch_size=8)
    model = onnx.load(path)
    ops = {n.op_type for n in model.graph.node}
    assert "Clip" in ops and "Min" not in ops
    biggest_constant = max((int(np.prod(a.t.dims)) for n in model.graph.node
                            if n.op_type == "Constant" for a in n.attribute), default=0)
    assert biggest_constant <= 16          # no constant the size of an activation
    used = build_inference_graph(net, (1, 8, 8), 1).parameters
    param_bytes = sum(4 * int(np.prod(p.shape)) for p in used.values())
    graph_bytes = model.graph.ByteSize() - sum(t.ByteSize() for t in model.graph.initializer)
    assert os.path.getsize(path) <= 1.1 * param_bytes + graph_bytes


def test_darts_avg_pool_exports_without_an_edge_pad(tmp_path):
    from .conftest import darts_net
    path = str(tmp_path / "net.onnx")
    export(darts_net(), path, (1, 8, 8))
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert "AveragePool" in ops and "Pad" not in ops


@pytest.mark.parametrize("path, message", [
    ("net.tflite", "unknown export format 'tflite'; valid formats: onnx, nnp"),
    ("missing/net.onnx", "does not exist"),
])
def test_bad_output_paths_write_nothing(tmp_path, path, message):
    net = Mo.Sequential(Mo.Conv(1, 2, (3, 3)))
    with pytest.raises(ExportError, match=message):
        export(net, str(tmp_path / path), (1, 8, 8))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": (1, 0, 8)}, "input_shape must be positive integers"),
    ({"input_shape": (1, 8, 8), "batch_size": 0}, "batch size must be a positive integer"),
    ({"input_shape": (1, 8, 8), "normalization": ([0.5, 0.5], [1, 1])}, "needs 1 means"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, kwargs, message):
    net = Mo.Sequential(Mo.Conv(1, 2, (3, 3)))
    with pytest.raises(ExportError, match=message):
        export(net, str(tmp_path / "net.onnx"), **kwargs)
    assert os.listdir(tmp_path) == []
