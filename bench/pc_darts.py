"""Peak memory and step time of one DARTS search step with partial channels
(PC-DARTS) against plain DARTS, at the same batch, side by side in one run.

Each setting runs in a fresh process (so that ``ru_maxrss`` is its own): a
``DartsSearcher`` over ``darts.SearchNet(3, C, cells, 10, shared=True,
partial_channels=K, edge_normalization=...)`` on random 32x32 images, the
optimizers of ``examples/classification/darts/cifar10_search.json`` and the
searcher's defaults (``recompute`` on). A search step is one weight step and
one architecture step. Figures per setting:

* ``fixed_mb``: the resident memory (RSS) just before the first step: the
  interpreter, numpy, nnabla, the package, the supernet's parameters, the
  data and the solvers, which PC-DARTS does not shrink;
* ``peak_mb``: the process's peak RSS after the first step (it builds the
  graph; the later steps reuse it and do not raise the peak);
* ``step_mb``: ``peak_mb - fixed_mb``, what the step itself added;
* ``step_s``: the median wall time of ``--steps`` further steps.

Prints a table and writes ``bench/results/pc_darts-<timestamp>.json``.

Usage::

    .venv/bin/python bench/pc_darts.py [--batch 32 --init-channels 16 --cells 8 --steps 2]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
#: (partial_channels, edge_normalization) settings, in table order.
SETTINGS = ((1, False), (2, True), (4, True), (8, True), (4, False))

WORKER = r"""
import json, resource, statistics, sys, time
import numpy as np
import nnabla as nn
nn.set_default_context(nn.Context(["cpu:float"], "0"))
from nnabla_nas.contrib import darts
from nnabla_nas.dataset import DataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner import DartsSearcher, Hparams

k, edge_norm, batch, channels, cells, steps, out = sys.argv[1:]
k, edge_norm, batch = int(k), edge_norm == "1", int(batch)
channels, cells, steps = int(channels), int(cells), int(steps)

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2 ** 20

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

np.random.seed(0)
nn.random.seed(0)
model = darts.SearchNet(3, channels, cells, 10, shared=True, partial_channels=k,
                        edge_normalization=edge_norm)
rng = np.random.RandomState(0)
x = rng.randint(0, 255, (2 * batch, 32, 32, 3)).astype(np.uint8)
y = rng.randint(0, 10, 2 * batch)
data = {split: DataLoader(x, y, batch, shuffle=True, rng=i)
        for i, split in enumerate(("train", "valid"))}
hp = Hparams(epoch=1, batch_size_train=batch, batch_size_valid=batch, output_path=out,
             quiet=True)
optimizers = {"train": Optimizer(name="Momentum", lr=0.025, momentum=0.9, weight_decay=3e-4,
                                 grad_clip=5.0),
              "valid": Optimizer(name="Adam", lr=3e-4, beta1=0.5, beta2=0.999,
                                 weight_decay=1e-3)}
searcher = DartsSearcher(model, optimizers, data, hp)

def step():
    searcher.train_on_batch()  # weight step
    searcher.valid_on_batch()  # architecture step

fixed = rss()
start = time.perf_counter()
step()
first = time.perf_counter() - start
top = peak()
times = []
for _ in range(steps):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
params = model.get_net_parameters()
print("RESULT " + json.dumps({
    "partial_channels": k, "edge_normalization": edge_norm, "fixed_mb": fixed,
    "peak_mb": top, "step_mb": top - fixed, "peak_after_all_mb": peak(),
    "first_step_s": first, "step_s": statistics.median(times), "step_times_s": times,
    "net_parameters": int(sum(p.size for p in params.values())),
    "recompute": searcher.recompute}))
"""


def run_setting(k: int, edge_norm: bool, args) -> dict:
    """One setting in a fresh process; returns its figures."""
    out = os.path.join("/tmp", f"pc_darts_bench_{os.getpid()}_{k}_{int(edge_norm)}")
    proc = subprocess.run([sys.executable, "-c", WORKER, str(k), str(int(edge_norm)),
                           str(args.batch), str(args.init_channels), str(args.cells),
                           str(args.steps), out],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"setting K={k}: {proc.stderr[-2000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--init-channels", type=int, default=16)
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2, help="timed steps after the first")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from nnabla_nas.export.latency import cpu_model
    rows = []
    for k, edge_norm in SETTINGS:
        row = run_setting(k, edge_norm, args)
        rows.append(row)
        print(f"K={k} edge_normalization={edge_norm}: {json.dumps(row)}", flush=True)
    plain = rows[0]
    print(f"\nDARTS search step, init_channels {args.init_channels}, {args.cells} cells, "
          f"batch {args.batch}, 32x32, shared alphas, recompute {plain['recompute']}; "
          f"{os.cpu_count()} cores ({cpu_model()}), CPU only")
    print("| K | edge norm. | peak RSS MiB | x plain | step increment MiB | x plain | "
          "step s | x plain |")
    for row in rows:
        print(f"| {row['partial_channels']} | {'on' if row['edge_normalization'] else 'off'} "
              f"| {row['peak_mb']:.0f} | {row['peak_mb'] / plain['peak_mb']:.2f} "
              f"| {row['step_mb']:.0f} | {row['step_mb'] / plain['step_mb']:.2f} "
              f"| {row['step_s']:.2f} | {row['step_s'] / plain['step_s']:.2f} |")
    fixed = ", ".join(f"{row['fixed_mb']:.0f}" for row in rows)
    print(f"fixed part (RSS before the first step): {fixed} MiB")
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    path = os.path.join(BENCH, "results", f"pc_darts-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump({"batch": args.batch, "init_channels": args.init_channels,
                   "cells": args.cells, "steps": args.steps, "image": [3, 32, 32],
                   "cpu": cpu_model(), "cores": os.cpu_count(),
                   "load_average_at_end": os.getloadavg(), "python": platform.python_version(),
                   "command": "python bench/pc_darts.py " + " ".join(argv or sys.argv[1:]),
                   "rows": rows}, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
