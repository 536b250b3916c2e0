"""Step time of DARTS' variants on the quickstart supernet, side by side in one run.

Builds the run of ``examples/quickstart/digits_search.json`` (digits, 3 cells of
6 channels, shared alphas, batches of 96) once per variant: first order (the
default), ``second_order``, ``beta_decay`` and both. After two untimed steps
(graph building), rounds alternate between the variants (first, second,
beta, both, first, ...), each timing ``--steps`` search steps (one weight
step and one architecture step each) and, separately, their architecture
steps' share. A variant's figure is the median of its pooled steps, with the
fastest step beside it (on a machine other processes share, the fastest steps
are the least disturbed); the load average is printed with them.

With ``--searches`` it runs instead, to their end, the quickstart search as
it is and the same at the DARTS paper's architecture learning rate (Adam 3e-4)
for 10 epochs without warmup, and prints what the collapse monitor says of
each (``results.json``: the figures, ``alphas_moved`` and the warning).

Usage::

    .venv/bin/python bench/darts_variants.py [--rounds 3 --steps 5]
    .venv/bin/python bench/darts_variants.py --searches
"""

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nnabla_nas.utils.context import set_context  # noqa: E402

set_context("cpu")  # as main.py does: the CPU context and the import shortcuts

from nnabla_nas.cli.build import build_run  # noqa: E402
from nnabla_nas.cli.config import read_config_file, validate_config  # noqa: E402
from nnabla_nas.export.latency import device_name  # noqa: E402
from nnabla_nas.module.mixedop import softmax  # noqa: E402
from nnabla_nas.runner.searcher import monitor  # noqa: E402

CONFIG = os.path.join(ROOT, "examples", "quickstart", "digits_search.json")
VARIANTS = {"first order": {}, "second_order": {"second_order": True},
            "beta_decay": {"beta_decay": 1.0},
            "both": {"second_order": True, "beta_decay": 1.0}}


def build(options: dict, folder: str, arch_lr: float = None):
    """The quickstart's DartsSearcher with ``options`` added to ``hparams``
    (and ``arch_lr`` as ``optimizer.valid.lr`` when given)."""
    data = copy.deepcopy(read_config_file(CONFIG))
    data["hparams"].update(options, quiet=True)
    if arch_lr is not None:
        data["optimizer"]["valid"]["lr"] = arch_lr
    config = validate_config(data, "DartsSearcher")
    config.hparams.output_path = folder
    return build_run(config).runner


def timed_steps(runner, steps: int):
    """Seconds of each of ``steps`` search steps, and of their architecture steps."""
    total, arch = [], []
    for _ in range(steps):
        start = time.perf_counter()
        runner.train_on_batch()
        middle = time.perf_counter()
        runner.valid_on_batch()
        end = time.perf_counter()
        total.append(end - start)
        arch.append(end - middle)
    return total, arch


def searches() -> None:
    """The two whole searches of ``--searches`` and the monitor's verdicts."""
    runs = {"quickstart as it is": ({}, None),
            "optimizer.valid.lr 3e-4, 10 epochs, no warmup": ({"epoch": 10, "warmup": 0},
                                                              3e-4)}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (options, lr)) in enumerate(runs.items()):
            start = time.time()
            runner = build(options, os.path.join(tmp, str(i)), arch_lr=lr)
            summary = runner.run()
            runner.close()
            steps = runner.steps_per_epoch() * runner.args.epoch
            print(f"\n{name}: {steps} architecture steps, {time.time() - start:.0f} s")
            for key in ("alphas_moved", "moved_share", "choice_points", "alpha_max_prob",
                        "alpha_entropy", "param_free_share"):
                print(f"  {key}: {summary[key]}")
            probs = [softmax(a.d) for a in monitor.choice_alphas(runner.mixed_ops)]
            print(f"  softmax(alpha) entries between {min(p.min() for p in probs):.4f} and "
                  f"{max(p.max() for p in probs):.4f}")
            lift = np.array([p.max() * p.size for p in probs])  # largest / uniform
            print(f"  largest probability / uniform per choice point: min {lift.min():.3f}, "
                  f"median {np.median(lift):.3f}, max {lift.max():.3f}; share at least "
                  + ", ".join(f"{r:g}x: {np.mean(lift >= r):.2f}" for r in (1.1, 1.2, 1.5)))
            print(f"  warning: {summary.get('warning', '(none)')}")
    print(f"\nmachine: {device_name()}, CPU only; load average (1 min) at the end "
          f"{os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--searches", action="store_true",
                        help="run the two whole searches instead of timing steps")
    args = parser.parse_args()
    if args.searches:
        return searches()
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        runners = {name: build(options, os.path.join(tmp, str(i)))
                   for i, (name, options) in enumerate(VARIANTS.items())}
        for runner in runners.values():
            timed_steps(runner, 2)  # builds the graphs
        times = {name: ([], []) for name in runners}
        for r in range(args.rounds):
            for name, runner in runners.items():
                total, arch = timed_steps(runner, args.steps)
                times[name][0].extend(total)
                times[name][1].extend(arch)
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    base = statistics.median(times["first order"][0])
    print(f"\nmachine: {device_name()}, CPU only; load average (1 min) during the run "
          f"{min(loads):.1f}-{max(loads):.1f}; {args.rounds} rounds x {args.steps} steps "
          f"per variant; supernet of {os.path.relpath(CONFIG, ROOT)}")
    fastest = min(times["first order"][0])
    print("medians of the steps (fastest step in parentheses)")
    print(f"{'variant':<14} {'step s':>15} {'arch step s':>15} {'step / first order':>19}")
    for name, (total, arch) in times.items():
        step = statistics.median(total)
        print(f"{name:<14} {step:>7.3f} ({min(total):>5.3f}) {statistics.median(arch):>7.3f} "
              f"({min(arch):>5.3f}) {step / base:>11.2f} ({min(total) / fastest:.2f})")


if __name__ == "__main__":
    main()
