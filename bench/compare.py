"""Side-by-side benchmark of the old NNablaNAS (0.9.0, from PyPI) and this package.

Both packages' own classes run the same workloads on the CPU (32x32x3 random
inputs, 10 classes, the DARTS cell space):

1. DARTS search step (weight update + architecture update): init_channels 8,
   5 cells, mini-batch 8, shared alphas, ``full`` mode.
2. ProxylessNAS search step (weight update + architecture update over
   ``n_iter=10`` sampled architectures): the same network in ``sample`` mode
   with per-cell alphas.
3. Graph construction of one sampled path of workload 2 (``model(x)`` + loss;
   10 builds per step, each of a newly drawn path).
4. Peak RSS of one DARTS step and one ProxylessNAS step at init_channels 16,
   8 cells, mini-batch 16.
5. Library overhead: the share of the step of workloads 1 and 2 spent outside
   nnabla's forward/backward/solver calls.

Each (package, task) runs in its own process (``bench/old_nas.py`` under
``bench/.old-venv``, created here on first use, and ``bench/ours_nas.py`` under
this interpreter), old and ours alternating. A time is the median of
``--steps`` steps after one warm-up step, with min and max. The tasks whose cost
depends on the paths drawn (the ProxylessNAS step, its overhead share and the graph
of a sampled path) run in :data:`SAMPLED_ROUNDS` rounds, each a new process with
its own seed, old and ours alternating round by round, and pool the rounds' steps.
The table goes to stdout, the raw figures to
``bench/results/compare-<timestamp>.json`` and, for full runs, a section to
``docs/benchmarks.md`` (``bench/report.py`` writes these). ``--profile`` also runs
ours under cProfile for workloads 1 and 2 and prints where the time goes.

Usage::

    make bench                       # or: .venv/bin/python bench/compare.py
    .venv/bin/python bench/compare.py --quick --workloads 1,3 --only ours
"""

import argparse
import importlib.metadata
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from typing import List

from report import (DOCS, NOISE_NOTE, PACKAGES, ROWS, Results, append_docs, fmt,
                    git_state, machine, markdown, table)

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OLD_VENV = os.path.join(BENCH, ".old-venv")
OLD_PYTHON = os.path.join(OLD_VENV, "bin", "python")
RESULTS = os.path.join(BENCH, "results")
OLD_PACKAGES = ["nnabla-nas==0.9.0", "scikit-learn"]
WORKERS = dict(zip(PACKAGES, ("old_nas.py", "ours_nas.py")))


# -- the old package's virtualenv ------------------------------------------------
def base_python() -> str:
    """A Python for the old package: python3.10, else this one if it is 3.8-3.10."""
    found = shutil.which("python3.10")
    if found:
        return found
    if (3, 8) <= sys.version_info[:2] <= (3, 10):
        return sys.executable
    sys.exit("error: no Python 3.8-3.10 for bench/.old-venv (nnabla has wheels for no "
             "other); install python3.10 and retry")


def ensure_old_venv() -> None:
    """Creates ``bench/.old-venv`` with nnabla-nas 0.9.0 unless it is complete already.

    nnabla is pinned to the version this interpreter has, so both packages run
    on the same nnabla. 0.9.0 depends on the ``sklearn`` shim, which installs
    only with ``SKLEARN_ALLOW_DEPRECATED_SKLEARN_PACKAGE_INSTALL``.
    """
    marker = os.path.join(OLD_VENV, ".installed")
    if os.path.isfile(marker):
        return
    if not os.path.isfile(OLD_PYTHON):
        print(f"creating {OLD_VENV}", flush=True)
        subprocess.run([base_python(), "-m", "venv", OLD_VENV], check=True)
    packages = OLD_PACKAGES + [f"nnabla=={importlib.metadata.version('nnabla')}"]
    print("installing " + " ".join(packages), flush=True)
    env = dict(os.environ, SKLEARN_ALLOW_DEPRECATED_SKLEARN_PACKAGE_INSTALL="True")
    subprocess.run([OLD_PYTHON, "-m", "pip", "install", "-q"] + packages, env=env, check=True)
    subprocess.run([OLD_PYTHON, "-c", "import nnabla_nas.runner.searcher, "
                    "nnabla_nas.contrib, nnabla_nas.optimizer"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(marker, "w") as f:
        f.write(" ".join(packages) + "\n")


# -- running the workers ---------------------------------------------------------
def run_worker(package: str, task: str, steps: int, profile: str = "",
               seed: int = 0) -> dict:
    """Runs one task in a fresh process; returns its figures or ``{"error": ...}``."""
    python = OLD_PYTHON if package == "old" else sys.executable
    command = [python, os.path.join(BENCH, WORKERS[package]), "--task", task,
               "--steps", str(steps), "--seed", str(seed)] + \
        (["--profile", profile] if profile else [])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    if done.returncode or not lines:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        print(f"  {package} {task} (seed {seed}) FAILED (exit {done.returncode}):\n{tail}",
              flush=True)
        return {"error": tail, "exit": done.returncode, "seed": seed}
    result = json.loads(lines[-1][len("RESULT "):])
    result["process_seconds"] = time.perf_counter() - started
    return result


#: The cost of a ProxylessNAS step, and of building a sampled path, depends on the
#: paths drawn, and each package draws its own: with one seed, each package's figure
#: is that of one fixed sample of paths. These tasks run in this many rounds, a new
#: process and seed (0, 1, ...) each, old and ours alternating round by round (which
#: also spreads a burst of load on the shared machine over both), and their figures
#: pool the timed steps of all rounds.
SAMPLED_ROUNDS = 3
SAMPLED_TASKS = ("pnas-step", "graph", "pnas-overhead")


def rounds(task: str) -> int:
    """Rounds (processes, seeds) of ``task``: :data:`SAMPLED_ROUNDS` for the tasks
    that draw paths, else one."""
    return SAMPLED_ROUNDS if task in SAMPLED_TASKS else 1


#: List-valued figures of a worker result that pool by concatenation.
POOLED_LISTS = ("values", "step_seconds", "nnabla_seconds")


def pool(parts: List[dict]) -> dict:
    """Merges the rounds of one timed task.

    Args:
        parts: The worker results of the rounds, in order (each with its ``seed``).

    Returns:
        The first failed round's result if any failed, the result itself for one
        round; else one result whose ``values`` (and the other lists of
        :data:`POOLED_LISTS`) are those of all rounds, with median, min and max over
        them, ``round_medians`` and ``seeds`` per round, the summed ``steps`` and
        ``process_seconds`` and the largest ``peak_rss_mb``.
    """
    failed = [p for p in parts if "error" in p]
    if failed:
        return failed[0]
    if len(parts) == 1:
        return parts[0]
    assert all(p["unit"] != "MiB" for p in parts), "memory tasks run in one round"
    merged = dict(parts[-1])
    merged.pop("seed", None)
    for key in POOLED_LISTS:
        if key in merged:
            merged[key] = [v for p in parts for v in p[key]]
    values = merged["values"]
    merged.update(median=statistics.median(values), min=min(values), max=max(values),
                  round_medians=[p["median"] for p in parts], seeds=[p["seed"] for p in parts],
                  steps=sum(p["steps"] for p in parts),
                  peak_rss_mb=max(p["peak_rss_mb"] for p in parts),
                  process_seconds=sum(p["process_seconds"] for p in parts))
    return merged


def run_all(tasks: List[str], packages: List[str], steps: int) -> Results:
    """Every task for every package, old and ours alternating (round by round)."""
    results: Results = {}
    for task in tasks:
        parts = {package: [] for package in packages}
        for seed in range(rounds(task)):
            for package in packages:
                label = f" (seed {seed})" if rounds(task) > 1 else ""
                print(f"  {package:4s} {task}{label} ...", end=" ", flush=True)
                result = run_worker(package, task, steps, seed=seed)
                parts[package].append(result)
                if "error" not in result:
                    print(f"{fmt(result)} (peak RSS {result['peak_rss_mb']:.0f} MiB, "
                          f"{result['process_seconds']:.0f} s)", flush=True)
        for package in packages:
            results[(package, task)] = pool(parts[package])
    return results


# -- reporting -------------------------------------------------------------------
def profile(tasks: List[str], steps: int, stamp: str) -> None:
    """Runs ours under cProfile for the step tasks and prints the top costs."""
    import io
    import pstats
    for task in [t for t in ("darts-step", "pnas-step") if t in tasks]:
        path = os.path.join(RESULTS, f"profile-{task}-{stamp}.prof")
        result = run_worker("ours", task, steps, profile=path)
        if "error" in result:
            continue
        out = io.StringIO()
        out.write(f"== cProfile of ours, {task}, {steps} steps ({path}) ==\n"
                  "nnabla's compiled forward/backward/solver calls are not listed: their "
                  "time is the tottime of the Python function calling them.\n")
        pstats.Stats(path, stream=out).strip_dirs().sort_stats("tottime").print_stats(25)
        pstats.Stats(path, stream=out).sort_stats("cumulative").print_stats(
            os.sep + "nnabla_nas" + os.sep, 25)
        with open(path[:-len(".prof")] + ".txt", "w") as f:
            f.write(out.getvalue())
        print("\n" + out.getvalue())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5,
                        help="timed steps per worker process (the tasks that draw paths "
                             f"run {SAMPLED_ROUNDS} processes, one per seed)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 timed steps, no section in docs/benchmarks.md")
    parser.add_argument("--only", choices=sorted(WORKERS), help="run one package only")
    parser.add_argument("--workloads", default="1,2,3,4,5",
                        help="comma-separated workload numbers (default: all)")
    parser.add_argument("--no-docs", action="store_true",
                        help="do not append to docs/benchmarks.md")
    parser.add_argument("--profile", action="store_true",
                        help="also profile ours on workloads 1 and 2 with cProfile")
    args = parser.parse_args(argv)
    try:
        workloads = {int(w) for w in args.workloads.split(",") if w.strip()}
    except ValueError:
        parser.error(f"--workloads: expected numbers such as 1,2, got {args.workloads!r}")
    if not workloads or not workloads <= {row.workload for row in ROWS}:
        parser.error(f"--workloads: choose among 1-5, got {args.workloads!r}")
    steps = 2 if args.quick else args.steps
    if steps < 1:
        parser.error("--steps must be at least 1")
    tasks = list(dict.fromkeys(row.task for row in ROWS if row.workload in workloads))
    packages = [args.only] if args.only else ["old", "ours"]
    if "old" in packages:
        ensure_old_venv()
    os.makedirs(RESULTS, exist_ok=True)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    commit = git_state()
    started, load_before = time.time(), os.getloadavg()[0]
    print(f"{len(tasks)} tasks x {len(packages)} packages, {steps} timed steps each "
          f"({SAMPLED_ROUNDS} rounds of {steps} for {', '.join(SAMPLED_TASKS)})")
    results = run_all(tasks, packages, steps)
    rows = table(results, tasks)
    record = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "command": " ".join(shlex.quote(a) for a in
                            [os.path.relpath(sys.executable, ROOT)] + sys.argv),
        "machine": machine(results), "ours_commit": commit, "steps": steps, "warmup_steps": 1,
        "rounds": SAMPLED_ROUNDS,
        "load_before": load_before, "load_after": os.getloadavg()[0],
        "minutes": (time.time() - started) / 60, "note": NOISE_NOTE,
        "table": rows,
        "results": {f"{p}/{t}": r for (p, t), r in results.items()},
    }
    path = os.path.join(RESULTS, f"compare-{stamp}.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
    print("\n" + markdown(rows))
    print(f"\nraw figures: {os.path.relpath(path, ROOT)}")
    if not (args.quick or args.no_docs):
        append_docs(record, rows)
        print(f"section appended to {os.path.relpath(DOCS, ROOT)}")
    if args.profile and "ours" in packages:
        profile(tasks, steps, stamp)


if __name__ == "__main__":
    main()
