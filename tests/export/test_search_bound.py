"""A ProxylessNAS search under an ONNX Runtime latency bound in milliseconds
(``main.py`` in a subprocess, its table measured there) moves from the slowest
architecture, where it starts, to one with at most one slow block."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.contrib import mobilenet
from nnabla_nas.export.latency import export_session, time_session
from nnabla_nas.export.run_folder import load_run_network

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
#: Three blocks, each ``MB6 7x7`` (index 0: where a search starts, all alphas
#: 0) or ``skip``: 8 architectures, 0 to 3 slow blocks, about additive.
NETWORK = {"settings": [[8, 3, 1]], "width_mult": 0.5, "stem_stride": 1,
           "candidates": ["MB6 7x7"]}
SHAPE = (3, 16, 16)


def bright_squares(path, n=192, classes=4, seed=0):
    """Images whose class is the quadrant holding a bright square."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % classes
    x = rng.randint(0, 60, (n, 16, 16, 3)).astype(np.uint8)
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        x[i, 8 * r:8 * r + 8, 8 * col:8 * col + 8] += 150
    np.savez(path, x=x, y=y.astype(np.int64))
    return str(path)


def architecture(choice):
    net = mobilenet.SearchNet(4, mode="max", **NETWORK)
    for block, k in zip(net.blocks, choice):
        block._alpha.d = np.eye(2)[k].reshape(block._alpha.shape)
    return net


def latencies_ms(nets, rounds=3):
    """Median ms of each network in ONNX Runtime (1 thread, CPU clock), timed
    in interleaved rounds so that a changing load hits all of them alike."""
    sessions = [export_session(net, SHAPE) for net in nets]
    x = np.random.RandomState(0).randn(1, *SHAPE)
    runs = [[1e3 * time_session(s, x, 40, 5, "cpu") for s in sessions] for _ in range(rounds)]
    return np.median(runs, axis=0)


def test_a_search_under_a_latency_bound_ends_within_it(tmp_path):
    slow, fast = architecture([0, 0, 0]), architecture([1, 1, 1])
    slow_ms, fast_ms = latencies_ms([slow, fast])
    # Half a slow block above the fastest: a search that keeps two slow blocks is
    # over it even if the table it measures runs 30% faster than this timing.
    bound = float(fast_ms + (slow_ms - fast_ms) / 6)
    cfg = {"dataloader": {"npz": {"path": bright_squares(tmp_path / "squares.npz")}},
           "network": {"mobilenet": NETWORK},
           "optimizer": {"valid": {"name": "Adam", "lr": 0.3, "beta1": 0.0},
                         "regularizer": {"LatencyEstimator": {
                             "weight": 8.0, "bound": bound, "unit": "ms",
                             "runtime": "onnxruntime", "clock": "cpu"}}},
           "hparams": {"epoch": 3, "warmup": 1, "batch_size_train": 16,
                       "batch_size_valid": 16, "n_iter": 4, "seed": 0}}
    (tmp_path / "search.json").write_text(json.dumps(cfg))
    out = tmp_path / "search"
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "-a", "ProxylessNasSearcher",
                           "-f", str(tmp_path / "search.json"), "-o", str(out), "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "LatencyEstimator=" in (out / "metrics.csv").read_text()
    ops = [block["op"] for block in json.loads((out / "arch.json").read_text())]
    assert ops.count("MB6 7x7") <= 1, ops
    # The search folder's argmax network, measured beside the two extremes (under
    # the same load): below the middle between them, where one slow block is.
    found, slow_ms, fast_ms = latencies_ms([load_run_network(str(out)).model, slow, fast])
    assert found <= (slow_ms + fast_ms) / 2, (ops, found, slow_ms, fast_ms, bound)
