"""A ProxylessNAS search under a latency bound in ONNX Runtime milliseconds, checked by measurement.

1. The space: a small MobileNetV2 space on 32x32 images (natural10). Every
   candidate of every block is timed in ONNX Runtime (the ``onnxruntime``
   LatencyEstimator's table); the fastest and the slowest architecture (the
   fastest and the slowest candidate of each block) and ``--randoms`` random
   architectures are exported and timed whole in ONNX Runtime.
2. The bound: ``--bound`` ms, else ``fastest + --bound-at * (initial argmax -
   fastest)`` of those measurements, decided before any search. The initial
   argmax is where a search starts (every alpha 0: the first candidate of every
   block), so a search that does not move stays above the bound.
3. Two searches through ``main.py -a ProxylessNasSearcher``, the same config
   and seed: one with the LatencyEstimator regularizer (``runtime:
   onnxruntime``, the bound in ms, priced from the table of step 1, saved as
   a latency table file), one without a regularizer.
4. The argmax network of each search folder is exported with ``main.py export
   RUN_DIR --format onnx`` and timed in ONNX Runtime with the reference
   architectures, in interleaved rounds (warm-up runs, then the median of
   ``--n-run`` runs; the median over rounds is kept).

Writes ``bench/results/latency_bound-<stamp>.json`` (numbers, commands, machine
and load) and the run folders under ``bench/results/latency_bound/<stamp>/``.
Exit status 1 when the bounded search's network measures above the bound.

    python bench/latency_bound.py                 # 24 min on 2 idle cores, 27 at load average 4 to 6
    python bench/latency_bound.py --quick         # smoke run: 1 warmup + 1 search epoch

Needs the export extra (onnx, onnxruntime, nnabla-converter --no-deps).
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
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
from nnabla_nas.dataset import build_dataset  # noqa: E402
from nnabla_nas.export import export  # noqa: E402
from nnabla_nas.export.latency import device_name, runtime_name, time_session  # noqa: E402
from nnabla_nas.export.onnx import session  # noqa: E402
from nnabla_nas.utils.estimator import LatencyEstimator  # noqa: E402
from nnabla_nas.utils.io import write_text_atomic  # noqa: E402

DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "natural10_dev.npz"))
RESULTS = os.path.join(ROOT, "bench", "results")
#: The space: 7 searchable blocks at 32, 16 and 8 pixels, 5 of them with a skip.
NETWORK = {"settings": [[16, 1, 1], [24, 3, 2], [32, 3, 2]], "stem_stride": 1}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="natural10_dev.npz (32x32 RGB)")
    p.add_argument("--warmup", type=int, default=2, help="weight-only epochs")
    p.add_argument("--epochs", type=int, default=8, help="search epochs after the warmup")
    p.add_argument("--weight", type=float, default=4.0,
                   help="LatencyEstimator weight w of the reward factor min(1, T/c)^w")
    p.add_argument("--bound", type=float, default=None, help="the bound T in ms")
    p.add_argument("--bound-at", type=float, default=0.5,
                   help="without --bound: T = fastest + this * (initial argmax - fastest)")
    p.add_argument("--randoms", type=int, default=10, help="random reference architectures")
    p.add_argument("--n-run", type=int, default=50, help="timed runs of a network (median)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (median)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="smoke run: 1 + 1 epochs, fewer runs")
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.epochs, args.randoms, args.n_run, args.rounds = 1, 1, 3, 10, 1
    return args


def search_config(a, bound=None, table=None):
    """The search config; with ``bound`` the ONNX Runtime latency regularizer
    (its table read from ``table``)."""
    optimizer = {
        "train": {"name": "Momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 4e-5,
                  "grad_clip": 5.0, "lr_scheduler": "CosineScheduler"},
        "valid": {"name": "Adam", "lr": 0.1, "beta1": 0.0, "beta2": 0.999},
    }
    if bound is not None:
        optimizer["regularizer"] = {"LatencyEstimator": {
            "weight": a.weight, "bound": round(bound, 4), "unit": "ms", "runtime": "onnxruntime",
            "threads": 1, "clock": "cpu", "table": table}}
    return {"dataloader": {"npz": {"path": a.data, "train_portion": 0.5}},
            "network": {"mobilenet": dict(NETWORK)},
            "optimizer": optimizer,
            "hparams": {"epoch": a.epochs, "warmup": a.warmup, "batch_size_train": 32,
                        "batch_size_valid": 64, "n_iter": 5, "baseline_decay": 0.9,
                        "seed": a.seed}}


def main_py(*args, log):
    """Runs ``main.py args`` (output to the file ``log``); returns (seconds, command)."""
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), *map(str, args)]
    print(f"  $ {shlex.join(cmd)}", flush=True)
    start = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.call(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if rc != 0:
        with open(log) as f:
            raise SystemExit(f"main.py exited with {rc}:\n{f.read()[-2000:]}")
    shown = [os.path.relpath(x, ROOT) if os.path.isabs(str(x)) else str(x) for x in args]
    return time.monotonic() - start, shlex.join(["python", "main.py", *shown])


def plant(net, choice):
    """Sets every block's alpha to a one-hot vector on ``choice[b]`` (max mode)."""
    for block, k in zip(net.blocks, choice):
        d = np.zeros(block._alpha.shape)
        d[k] = 1.0
        block._alpha.d = d


def build(net, choice, shape):
    """Builds the inference graph of ``choice`` once (the estimator reads it)."""
    plant(net, choice)
    with nn.no_grad(), nn.auto_forward(False):
        net.apply(training=False)
        net(nn.Variable((1,) + tuple(shape)))
        net.apply(training=True)


def candidate_latencies(net, est, shape):
    """ms of every candidate of every block in the estimator's table
    (``[block][candidate]``): one build per candidate index (a block's input
    shape does not depend on the other blocks' choices)."""
    sizes = [len(names) for names in net.candidate_names]
    table = [[None] * n for n in sizes]
    for k in range(max(sizes)):
        build(net, [min(k, n - 1) for n in sizes], shape)
        est.predict(net)
        for b, block in enumerate(net.blocks):
            if k < sizes[b]:
                table[b][k] = 1e3 * est.layer_latency(block._ops[k])
    return table


def time_files(paths, shape, n_run, rounds):
    """Median ms of each ONNX file, 1 thread, process CPU clock, in interleaved rounds."""
    sessions = [session(p, threads=1) for p in paths]
    x = np.random.RandomState(0).randn(1, *shape)
    runs = [[1e3 * time_session(s, x, n_run, 5, "cpu") for s in sessions] for _ in range(rounds)]
    return [float(np.median([r[i] for r in runs])) for i in range(len(paths))], runs


def found_choice(net, folder):
    """The argmax architecture of a search folder, from its ``arch.json``."""
    with open(os.path.join(folder, "arch.json")) as f:
        blocks = json.load(f)
    return [net.candidate_names[b["block"]].index(b["op"]) for b in blocks]


def epoch_estimates(folder):
    """The mean LatencyEstimator estimate of the sampled paths, epoch by epoch."""
    out = []
    with open(os.path.join(folder, "metrics.csv")) as f:
        for line in f.read().splitlines()[1:]:
            cols = line.split(",")
            if cols[1] == "valid" and "LatencyEstimator=" in cols[-1]:
                out.append(float(cols[-1].split("LatencyEstimator=")[1].rstrip("ms")))
    return out


def main(argv=None):
    a = parse_args(argv)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = os.path.join(RESULTS, "latency_bound", stamp)
    os.makedirs(base)
    loads = {"start": os.getloadavg()}
    started = time.monotonic()
    data = build_dataset({"npz": {"path": a.data}})
    shape = tuple(int(n) for n in data.shape)  # (C, H, W)
    norm = (tuple(data.mean), tuple(data.std))
    net = mobilenet.SearchNet(data.num_classes, mode="max", in_channels=shape[0], **NETWORK)
    names = net.candidate_names

    # 1. The table, the fastest and slowest architectures, random ones.
    est = LatencyEstimator(runtime="onnxruntime", threads=1, clock="cpu", unit="ms",
                           n_run=30, warmup=5)
    table = candidate_latencies(net, est, shape)
    refs = {"fastest": [int(np.argmin(t)) for t in table],
            "slowest": [int(np.argmax(t)) for t in table],
            "initial argmax": [0] * len(table)}  # all alphas 0: what an idle search returns
    rng = np.random.RandomState(a.seed)
    for i in range(a.randoms):
        refs[f"random {i}"] = [int(rng.randint(len(t))) for t in table]
    rows = {}
    for name, choice in refs.items():
        build(net, choice, shape)
        path = os.path.join(base, name.replace(" ", "_") + ".onnx")
        export(net, path, shape, normalization=norm)
        rows[name] = {"choice": choice, "ops": [names[b][k] for b, k in enumerate(choice)],
                      "estimate_ms": est.predict(net), "path": path}
    first, _ = time_files([r["path"] for r in rows.values()], shape, a.n_run, a.rounds)
    for row, ms in zip(rows.values(), first):
        row["first_measured_ms"] = ms
    fastest, start = rows["fastest"]["first_measured_ms"], rows["initial argmax"]["first_measured_ms"]
    bound = a.bound if a.bound is not None else fastest + a.bound_at * (start - fastest)
    table_path = os.path.join(base, "latency_table.json")
    est.save_table(table_path)
    print(f"fastest {fastest:.3f} ms, initial argmax {start:.3f} ms, slowest "
          f"{rows['slowest']['first_measured_ms']:.3f} ms -> bound {bound:.3f} ms", flush=True)

    # 2. The two searches, then the export of their argmax networks.
    commands = {}
    for name, bound_ms in (("bounded search", bound), ("unconstrained search", None)):
        folder = os.path.join(base, name.split()[0])
        cfg = folder + ".json"
        with open(cfg, "w") as f:
            json.dump(search_config(a, bound_ms, table_path), f, indent=1)
        seconds, cmd = main_py("-a", "ProxylessNasSearcher", "-f", cfg, "-o", folder,
                               log=folder + ".log")
        _, export_cmd = main_py("export", folder, "--format", "onnx", "-o",
                                os.path.join(folder, "model.onnx"), "-q",
                                log=folder + ".export.log")
        choice = found_choice(net, folder)
        build(net, choice, shape)
        rows[name] = {"choice": choice, "ops": [names[b][k] for b, k in enumerate(choice)],
                      "estimate_ms": est.predict(net), "path": os.path.join(folder, "model.onnx"),
                      "search_seconds": round(seconds, 1),
                      "epoch_mean_estimates_ms": epoch_estimates(folder)}
        commands[name] = [cmd, export_cmd]

    # 3. Everything timed again, together.
    loads["before final timing"] = os.getloadavg()
    measured, runs = time_files([r["path"] for r in rows.values()], shape, a.n_run, a.rounds)
    loads["end"] = os.getloadavg()
    for (name, row), ms, i in zip(rows.items(), measured, range(len(rows))):
        row["measured_ms"] = ms
        row["measured_rounds_ms"] = [r[i] for r in runs]
        row["within_bound"] = ms <= bound
        row["path"] = os.path.relpath(row["path"], ROOT)
    randoms = [rows[n]["measured_ms"] for n in rows if n.startswith("random")]
    bounded = rows["bounded search"]
    # The load may differ from the first timing: the bound's place between the
    # fastest and the initial argmax, taken again in these rounds.
    replaced = rows["fastest"]["measured_ms"] + a.bound_at * (
        rows["initial argmax"]["measured_ms"] - rows["fastest"]["measured_ms"])
    summary = {
        "command": shlex.join(["python", "bench/latency_bound.py"] +
                              (sys.argv[1:] if argv is None else list(argv))),
        "machine": f"{device_name()}, {platform.system()} {platform.release()}, CPU only",
        "runtime": f"{runtime_name()}, 1 thread, process CPU clock, median of {a.n_run} runs "
                   f"after 5 warm-up runs, median of {a.rounds} interleaved rounds",
        "load_average": loads, "seconds": round(time.monotonic() - started, 1),
        "input": [1, *shape], "network": NETWORK, "weight": a.weight,
        "bound_ms": bound,
        "bound_rule": "--bound" if a.bound is not None else
                      f"fastest + {a.bound_at} * (initial argmax - fastest), first timing",
        "bound_replaced_in_final_timing_ms": replaced,
        "bounded_within_replaced_bound": bounded["measured_ms"] <= replaced,
        "random_within_bound": sum(ms <= bound for ms in randoms), "randoms": len(randoms),
        "bounded_within_bound": bounded["within_bound"],
        "candidates": [list(n) for n in names],
        "table_ms": table, "search_config": search_config(a, bound, os.path.relpath(table_path, ROOT)),
        "commands": commands,
        "rows": rows,
    }
    path = os.path.join(RESULTS, f"latency_bound-{stamp}.json")
    write_text_atomic(path, json.dumps(summary, indent=1) + "\n")
    print(f"\n{'network':22s} {'estimate':>9s} {'measured':>9s}  within {bound:.3f} ms")
    for name, row in rows.items():
        print(f"{name:22s} {row['estimate_ms']:8.3f}  {row['measured_ms']:8.3f}   "
              f"{'yes' if row['within_bound'] else 'no'}   {' | '.join(row['ops'])}")
    print(f"{summary['random_within_bound']} of {len(randoms)} random architectures within "
          f"the bound; the bound placed again in the final timing: {replaced:.3f} ms (bounded "
          f"search within it: {bounded['measured_ms'] <= replaced}); load average "
          f"{loads['start']} -> {loads['end']}; wrote {path}")
    return 0 if bounded["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
