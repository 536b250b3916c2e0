import json

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.utils.estimator import LatencyEstimator
from nnabla_nas.utils.estimator.table import context_string

from .conftest import CONV, POOL, SKIP, build

FAST = {"n_run": 5, "warmup": 1}


def estimate(est, net, choice):
    build(net, choice)
    return est.predict(net)


def test_conv_path_is_slower_than_pool_path(net):
    est = LatencyEstimator()
    conv, pool = estimate(est, net, CONV), estimate(est, net, POOL)
    assert conv > pool > 0
    assert est.layer_latency(net.mixed._ops[CONV]) > est.layer_latency(net.mixed._ops[POOL])


def test_path_latency_is_the_sum_of_its_layers(net):
    est = LatencyEstimator(unit="us", **FAST)
    total = estimate(est, net, CONV)
    layers = list(net.stem) + [net.mixed._ops[CONV]]
    assert total == pytest.approx(sum(est.layer_latency(m) for m in layers) * 1e6)


def test_identity_costs_nothing_and_is_not_measured(net):
    est = LatencyEstimator(**FAST)
    skip = estimate(est, net, SKIP)
    assert est.n_measurements == 3  # the stem only
    assert est.layer_latency(net.mixed._ops[SKIP]) == 0.0
    assert skip == pytest.approx(sum(est.latencies.values()) * 1e3)


def test_each_distinct_layer_is_measured_once(net):
    est = LatencyEstimator(**FAST)
    first = estimate(est, net, CONV)
    assert est.n_measurements == 4
    assert est.predict(net) == first and est.n_measurements == 4
    estimate(est, net, POOL)
    assert est.n_measurements == 5  # only the pool is new
    relus = Mo.Sequential(Mo.ReLU(), Mo.ReLU(), Mo.ReLU())
    relus(nn.Variable((2, 8)))
    est.predict(relus)
    assert est.n_measurements == 6  # three equal layers, one measurement


def test_table_round_trip_needs_no_measurement(net, tmp_path):
    est = LatencyEstimator(**FAST)
    conv, pool = estimate(est, net, CONV), estimate(est, net, POOL)
    path = str(tmp_path / "latency.json")
    est.save_table(path)

    data = json.loads(open(path).read())
    assert data["unit"] == "ms" and len(data["entries"]) == 5
    entry = next(e for e in data["entries"] if e["layer"] == "MaxPool")
    assert entry["context"] == context_string() == "cpu:float"
    assert entry["input_shapes"] == [[1, 32, 32, 32]]
    assert entry["args"] == net.mixed._ops[POOL].extra_repr()

    other = LatencyEstimator(table=path)
    assert estimate(other, net, CONV) == pytest.approx(conv, rel=1e-12)
    assert estimate(other, net, POOL) == pytest.approx(pool, rel=1e-12)
    assert other.n_measurements == 0
    reloaded = LatencyEstimator()
    reloaded.load_table(path)
    assert estimate(reloaded, net, CONV) == pytest.approx(conv) and reloaded.n_measurements == 0


def test_table_in_another_unit(net, tmp_path):
    est = LatencyEstimator(unit="us", **FAST)
    micro = estimate(est, net, CONV)
    path = str(tmp_path / "latency.json")
    est.save_table(path)
    assert json.loads(open(path).read())["unit"] == "us"
    assert LatencyEstimator(table=path, unit="s").predict(net) == pytest.approx(micro * 1e-6)


def test_table_of_another_device_drives_the_estimate(net, tmp_path):
    est = LatencyEstimator(**FAST)
    conv = estimate(est, net, CONV)
    path = tmp_path / "board.json"
    est.save_table(str(path))
    data = json.loads(path.read_text())
    for entry in data["entries"]:
        entry["context"] = "board:float"
    path.write_text(json.dumps(data))

    board = LatencyEstimator(table=str(path))
    assert board.target_context() == "board:float"
    assert board.predict(net) == pytest.approx(conv) and board.n_measurements == 0
    build(net, POOL)
    with pytest.raises(RuntimeError, match=r"'mixed/_ops/1' MaxPool\(.*not in the latency "
                                           r"table for context 'board:float'"):
        board.predict(net)
    # Asking for the current context explicitly measures here instead.
    here = LatencyEstimator(table=str(path), context="cpu:float", **FAST)
    assert here.predict(net) > 0 and here.n_measurements == 4


def test_profiling_leaves_the_network_untouched(net):
    y = build(net, CONV)
    y.forward()
    out = y.d.copy()
    bn = net.stem[1]
    stats = bn._mean.d.copy(), bn._var.d.copy()
    shapes = {name: list(m.input_shapes) for name, m in net.get_modules()}
    np_state = np.random.get_state()[1].copy()

    LatencyEstimator(**FAST).predict(net)

    np.testing.assert_array_equal(bn._mean.d, stats[0])
    np.testing.assert_array_equal(bn._var.d, stats[1])
    assert all(m.training for _, m in net.get_modules())
    assert {name: list(m.input_shapes) for name, m in net.get_modules()} == shapes
    np.testing.assert_array_equal(y.d, out)  # the caller's graph keeps its buffers
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_works_under_auto_forward(net):
    build(net, POOL)
    nn.set_auto_forward(True)
    assert LatencyEstimator(**FAST).predict(net) > 0


def test_failed_measurement_names_the_layer(net):
    conv = net.mixed._ops[CONV]
    conv.input_shapes = [(1, 5, 8, 8)]  # wrong number of channels
    with pytest.raises(RuntimeError, match=r"layer 'bad' Conv\(in_channels=32.*"
                                           r"input shapes \[\(1, 5, 8, 8\)\]"):
        LatencyEstimator(**FAST).layer_latency(conv, name="bad")
    assert conv.input_shapes == [(1, 5, 8, 8)] and conv.training


def test_layer_called_on_non_variable_is_an_error():
    lam = Mo.Lambda(lambda x, k: x * k)
    lam(nn.Variable((2, 3)), 2.0)
    with pytest.raises(RuntimeError, match=r"Lambda.*not a Variable"):
        LatencyEstimator(**FAST).predict(lam)


@pytest.mark.parametrize("kwargs, message", [
    ({"unit": "min"}, "unknown latency unit 'min'; valid units: s, ms, us"),
    ({"n_run": 0}, "n_run >= 1"),
    ({"warmup": -1}, "warmup >= 0"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LatencyEstimator(**kwargs)


def test_factor(net):
    build(net, CONV)
    est = LatencyEstimator(weight=1.0, bound=1e3, **FAST)
    assert est.factor(net) == 1.0
    latency = est.predict(net)
    tight = LatencyEstimator(weight=1.0, bound=latency / 2, **FAST)
    tight.latencies = est.latencies
    assert tight.factor(net) == pytest.approx(0.5)


def test_layers_are_priced_at_batch_size_one_by_default():
    import nnabla as nn
    from nnabla_nas import module as Mo
    from nnabla_nas.utils.estimator import LatencyEstimator
    conv = Mo.Conv(3, 4, (3, 3), pad=(1, 1))
    per_image = LatencyEstimator(n_run=1, warmup=0)
    as_run = LatencyEstimator(n_run=1, warmup=0, batch_size=0)
    for batch in (8, 16):
        conv(nn.Variable((batch, 3, 8, 8)))
        per_image.layer_latency(conv)
        as_run.layer_latency(conv)
    assert per_image.n_measurements == 1  # one key: (1, 3, 8, 8)
    assert [k[3] for k in per_image.latencies] == [((1, 3, 8, 8),)]
    assert as_run.n_measurements == 2
    assert sorted(k[3][0][0] for k in as_run.latencies) == [8, 16]


def saved_table(net, path):
    """Measures the conv path of ``net`` with the nnabla runtime, saves the table
    at ``path`` and returns it parsed."""
    est = LatencyEstimator(**FAST)
    estimate(est, net, CONV)
    est.save_table(str(path))
    return json.loads(path.read_text())


def test_table_records_runtime_device_and_input_shape(net, tmp_path):
    data = saved_table(net, tmp_path / "latency.json")
    assert data["runtime"] == "nnabla" and data["input_shape"] == [3, 32, 32]
    assert "nnabla" in data["device"]


def test_table_of_another_runtime_is_a_one_line_error(net, tmp_path):
    path = tmp_path / "latency.json"
    saved_table(net, path)
    with pytest.raises(ValueError, match=r"latency table '.*' was measured with runtime "
                                         r"'nnabla', this estimator uses 'onnxruntime'"):
        LatencyEstimator(table=str(path), runtime="onnxruntime")


def test_table_for_another_input_shape_is_an_error(net, tmp_path):
    path = tmp_path / "latency.json"
    data = saved_table(net, path)
    data["input_shape"] = [3, 64, 64]
    path.write_text(json.dumps(data))
    other = LatencyEstimator(table=str(path))
    with pytest.raises(ValueError, match=r"measured for network input \[3, 64, 64\], this "
                                         r"network takes \[3, 32, 32\]"):
        other.predict(net)


@pytest.mark.parametrize("kwargs, message", [
    ({"runtime": "tflite"}, "unknown latency runtime 'tflite'; valid runtimes: nnabla, "
                            "onnxruntime"),
    ({"threads": 0}, "threads must be a positive integer"),
    ({"clock": "gpu"}, "unknown clock 'gpu'; valid clocks: wall, cpu"),
])
def test_invalid_runtime_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LatencyEstimator(**kwargs)
