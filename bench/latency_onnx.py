"""The ONNX Runtime latency table against measured whole networks.

For random MobileNetV2 architectures of the search space (each block's
operator drawn uniformly), compares the ``onnxruntime`` LatencyEstimator's
sum of per-operator latencies (the lookup table a ProxylessNAS search uses)
with the median latency of the whole exported network in ONNX Runtime.
Writes a plot and the numbers (with the machine) into docs/.

    python bench/latency_onnx.py                    # 20 architectures, 224x224, 1 thread
    python bench/latency_onnx.py --archs 5 --image 32 --quick

Needs the export extra (onnx, onnxruntime, nnabla-converter --no-deps).
"""

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("NNABLA_CONFIG_FILE_PATH",
                      os.path.join(ROOT, "nnabla_nas", "cli", "nnabla.conf"))

import nnabla as nn  # noqa: E402
import numpy as np  # noqa: E402

from nnabla_nas.contrib.classification import mobilenet  # noqa: E402
from nnabla_nas.export.latency import (device_name, export_session, runtime_name,  # noqa: E402
                                       time_session)
from nnabla_nas.utils.estimator import LatencyEstimator  # noqa: E402
from nnabla_nas.utils.io import atomic_path, write_text_atomic  # noqa: E402


def plant(net, rng):
    """Sets every block's alphas so that its argmax is a uniformly drawn operator."""
    ops = []
    for block in net.blocks:
        k = rng.randint(block._alpha.shape[0])
        d = np.zeros(block._alpha.shape)
        d[k] = 1.0
        block._alpha.d = d
        ops.append(k)
    return ops


def spearman(a, b) -> float:
    """Spearman's rank correlation (no ties expected among latencies)."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def plot(est, meas, path, title):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 5.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(meas, est, s=22, color="#1f77b4", zorder=3)
    lo, hi = min(min(est), min(meas)) * 0.95, max(max(est), max(meas)) * 1.05
    ax.plot([lo, hi], [lo, hi], color="#888888", lw=1, ls="--", label="estimate = measured")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured whole network, ONNX Runtime (ms)")
    ax.set_ylabel("latency table sum (ms)")
    ax.set_title(title, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--image", type=int, default=224, help="input height and width")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads")
    parser.add_argument("--n-run", type=int, default=30, help="timed runs (median kept)")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                        help="cpu: process CPU time, what a run takes alone on a machine "
                             "shared with other jobs (default); wall: elapsed time")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of whole-network timings (median kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "latency_onnx"),
                        help="output prefix: writes PREFIX.png and PREFIX.json")
    parser.add_argument("--table", default=None, help="also save the latency table here")
    args = parser.parse_args(argv)
    n_run = 5 if args.quick else args.n_run

    imagenet = args.image >= 128
    net = mobilenet.SearchNet(num_classes=1000 if imagenet else 10, mode="max",
                              settings=mobilenet.IMAGENET_SETTINGS if imagenet
                              else mobilenet.CIFAR_SETTINGS,
                              stem_stride=2 if imagenet else 1)
    shape = (3, args.image, args.image)
    est = LatencyEstimator(runtime="onnxruntime", threads=args.threads, n_run=n_run,
                           warmup=3, unit="ms", clock=args.clock)
    rng = np.random.RandomState(args.seed)
    rows, sessions = [], []
    started = time.time()
    for i in range(args.archs):
        ops = plant(net, rng)
        with nn.no_grad(), nn.auto_forward(False):
            x = nn.Variable((1,) + shape)
            net.apply(training=False)
            net(x)
            net.apply(training=True)
            estimate = est.predict(net)
        sessions.append(export_session(net, shape, 1, args.threads))
        rows.append({"ops": ops, "estimate_ms": estimate})
        print(f"arch {i + 1}/{args.archs}: table {estimate:.2f} ms ({est.n_measurements} "
              f"operators timed, {time.time() - started:.0f}s)", flush=True)
    # The whole networks, in interleaved rounds: a load that comes and goes on a
    # shared machine spreads over all of them instead of a few.
    x = np.random.RandomState(0).randn(1, *shape)
    rounds = [[1e3 * time_session(sess, x, n_run, 3, args.clock) for sess in sessions]
              for _ in range(args.rounds)]
    for i, row in enumerate(rows):
        row["measured_rounds_ms"] = [r[i] for r in rounds]
        row["measured_ms"] = float(np.median(row["measured_rounds_ms"]))
        print(f"arch {i + 1}: table {row['estimate_ms']:.2f} ms, measured "
              f"{row['measured_ms']:.2f} ms")

    e = np.array([r["estimate_ms"] for r in rows])
    m = np.array([r["measured_ms"] for r in rows])
    rho = spearman(e, m)
    mdape = float(np.median(np.abs(e - m) / m))
    machine = f"{device_name()}, {platform.system()} {platform.release()}"
    summary = {
        "command": "python bench/latency_onnx.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine, "load_average": os.getloadavg(), "runtime": runtime_name(),
        "threads": args.threads, "clock": args.clock,
        "input": [1, *shape], "archs": args.archs, "n_run": n_run, "rounds": args.rounds,
        "spearman": rho, "median_abs_rel_error": mdape,
        "overhead_ms": est.latencies.get((est.target_context(), "RunOverhead", "", ()), 0) * 1e3,
        "operators_timed": est.n_measurements, "seconds": round(time.time() - started, 1),
        "rows": rows,
    }
    write_text_atomic(args.out + ".json", json.dumps(summary, indent=1) + "\n")
    plot(e, m, args.out + ".png",
         f"MobileNetV2 space, {args.archs} random architectures, input 1x{shape}\n"
         f"Spearman {rho:.3f}, median |error| {100 * mdape:.1f}%\n{machine}\n"
         f"{runtime_name()}, {args.threads} thread(s), {args.clock} clock, "
         f"median of {n_run} runs")
    if args.table:
        est.save_table(args.table)
    print(f"Spearman rank correlation {rho:.3f}; median absolute error {100 * mdape:.1f}%; "
          f"wrote {args.out}.png and {args.out}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
