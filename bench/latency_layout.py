"""The ONNX Runtime latency table's sum with and without the layout conversions, against whole networks.

A unit (block or layer) timed alone in ONNX Runtime pays conversions into and
out of its blocked channel layout (NCHWc) that a whole network pays once.
Taking them off each entry (read from ONNX Runtime's profiler) was tried in the
``onnxruntime`` LatencyEstimator and reverted: it made the table's error
larger (``docs/deploy.rst``). This script measures what it does: for
``--archs`` random architectures of three MobileNetV2 spaces (the 7-block
32x32 space of ``bench/latency_bound.py``, the 16-block 32x32 CIFAR stages and
the ImageNet stages at 224x224) it times every distinct unit and every whole
network in interleaved rounds (so a changing load hits them alike) and
compares, per architecture, the sum with and without the conversions to the
whole network. Writes ``bench/results/latency_layout-<stamp>.json``.

    python bench/latency_layout.py              # 6 architectures per space
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("NNABLA_CONFIG_FILE_PATH",
                      os.path.join(ROOT, "nnabla_nas", "cli", "nnabla.conf"))

import nnabla as nn  # noqa: E402
import numpy as np  # noqa: E402

from nnabla_nas.contrib.classification import mobilenet  # noqa: E402
from nnabla_nas.export.latency import (device_name, export_session, exported,  # noqa: E402
                                       layout_seconds, run_overhead, runtime_name, time_session)
from nnabla_nas.export.graph import build_inference_graph  # noqa: E402
from nnabla_nas.export.onnx import session  # noqa: E402
from nnabla_nas.utils.estimator.active import active_operators  # noqa: E402
from nnabla_nas.utils.estimator.table import layer_key  # noqa: E402
from nnabla_nas.utils.io import write_text_atomic  # noqa: E402

SPACES = {
    "7 blocks, 32x32": (dict(num_classes=10, settings=[[16, 1, 1], [24, 3, 2], [32, 3, 2]],
                             stem_stride=1), 32),
    "16 blocks, 32x32": (dict(num_classes=10, settings=mobilenet.CIFAR_SETTINGS,
                              stem_stride=1), 32),
    "ImageNet stages, 224x224": (dict(num_classes=1000), 224),
}


def compare(options, size, archs, n_run, rounds, rng):
    net = mobilenet.SearchNet(mode="max", **options)
    shape = (3, size, size)
    units, nets = {}, []
    for _ in range(archs):
        for block in net.blocks:
            d = np.zeros(block._alpha.shape)
            d[rng.randint(len(d))] = 1.0
            block._alpha.d = d
        with nn.no_grad(), nn.auto_forward(False):
            net.apply(training=False)
            net(nn.Variable((1,) + shape))
            net.apply(training=True)
        keys = []
        for _, m in active_operators(net):
            key = layer_key(m, "", 1)
            s = tuple(m.input_shapes[0][1:])
            graph = build_inference_graph(m, s, 1)
            if graph.y is graph.x or not graph.y.parent:
                continue  # returns its input (skip, dropout): costs nothing
            if key not in units:
                x = np.random.RandomState(0).randn(1, *s)
                with exported(m, s, 1) as path:
                    units[key] = {"session": session(path, threads=1), "x": x,
                                  "layout": layout_seconds(path, x, n_run, 5), "times": []}
            keys.append(key)
        nets.append({"keys": keys, "session": export_session(net, shape, 1, 1), "times": []})
    x = np.random.RandomState(0).randn(1, *shape)
    for _ in range(rounds):
        for u in units.values():
            u["times"].append(time_session(u["session"], u["x"], n_run, 5, "cpu"))
        for n in nets:
            n["times"].append(time_session(n["session"], x, n_run, 5, "cpu"))
    overhead = run_overhead(clock="cpu")
    rows = []
    for n in nets:
        whole = statistics.median(n["times"])
        raw = [statistics.median(units[k]["times"]) for k in n["keys"]]
        layout = [units[k]["layout"] for k in n["keys"]]
        without = overhead + sum(max(0.0, t - overhead) for t in raw)
        with_ = overhead + sum(max(0.0, t - c - overhead) for t, c in zip(raw, layout))
        rows.append({"whole_ms": 1e3 * whole, "sum_ms": 1e3 * with_,
                     "sum_with_conversions_ms": 1e3 * without})
    error = {k: statistics.median(r[k] / r["whole_ms"] - 1 for r in rows)
             for k in ("sum_ms", "sum_with_conversions_ms")}
    return {"input": [1, *shape], "units": len(units), "rows": rows,
            "median_error": error["sum_ms"],
            "median_error_with_conversions": error["sum_with_conversions_ms"]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", type=int, default=6)
    p.add_argument("--n-run", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    started, loads = time.monotonic(), [os.getloadavg()]
    results = {}
    for name, (options, size) in SPACES.items():
        results[name] = compare(options, size, a.archs, a.n_run, a.rounds,
                                np.random.RandomState(0))
        loads.append(os.getloadavg())
        r = results[name]
        print(f"{name}: table sum vs whole network, median signed error "
              f"{100 * r['median_error']:+.1f}% ({100 * r['median_error_with_conversions']:+.1f}% "
              f"with the layout conversions kept)", flush=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = os.path.join(ROOT, "bench", "results", f"latency_layout-{stamp}.json")
    write_text_atomic(path, json.dumps({
        "command": "python bench/latency_layout.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{device_name()}, {platform.system()} {platform.release()}, CPU only",
        "runtime": f"{runtime_name()}, 1 thread, process CPU clock, median of {a.n_run} runs, "
                   f"median of {a.rounds} interleaved rounds",
        "load_average": loads, "seconds": round(time.monotonic() - started, 1),
        "archs": a.archs, "spaces": results}, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
