"""Step times of two revisions of this package, side by side in one run.

For a change that must not slow the package down (a refactor, say): each
revision's tree is exported from git (``git archive``) into a temporary folder,
and its own ``bench/ours_nas.py`` worker runs the DARTS and ProxylessNAS step
tasks of ``bench/compare.py`` (workloads 1 and 2: init_channels 8, 5 cells,
mini-batch 8, 32x32 inputs) with that tree first on ``sys.path``. Rounds
alternate between the revisions (base, head, base, head...), each round a new
process with its own seed; a revision's figure is the median of its pooled
steps. Prints a table and writes ``bench/results/revisions-<timestamp>.json``.

Usage::

    .venv/bin/python bench/revisions.py --base 525fe3f --head HEAD [--rounds 3 --steps 5]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
TASKS = ("darts-step", "pnas-step")


def export(rev: str, folder: str) -> str:
    """Writes the tree of ``rev`` into ``folder``; returns its full commit id."""
    commit = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = os.path.join(folder, "tree.tar")
    subprocess.run(["git", "archive", "-o", archive, commit], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(os.path.join(folder, "tree"))
    return commit


def run(tree: str, task: str, steps: int, seed: int) -> list:
    """One worker process of ``tree``; returns its timed steps (seconds)."""
    env = dict(os.environ, PYTHONPATH=tree)
    done = subprocess.run([sys.executable, os.path.join(tree, "bench", "ours_nas.py"),
                           "--task", task, "--steps", str(steps), "--seed", str(seed)],
                          cwd=tree, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"error: {task} failed in {tree}:\n{done.stderr[-2000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["source"].startswith(tree), result["source"]  # the tree's own package
    return result["values"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--head", default="HEAD", help="git revision measured (default HEAD)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees, commits = {}, {}
        for name in ("base", "head"):
            os.makedirs(os.path.join(tmp, name))
            commits[name] = export(getattr(args, name), os.path.join(tmp, name))
            trees[name] = os.path.join(tmp, name, "tree")
        values = {(name, task): [] for name in trees for task in TASKS}
        for task in TASKS:
            for seed in range(args.rounds):
                for name in ("base", "head"):
                    values[name, task] += run(trees[name], task, args.steps, seed)
                    print(f"{task} round {seed + 1}/{args.rounds} {name} done", flush=True)
    rows = []
    for task in TASKS:
        base = statistics.median(values["base", task])
        head = statistics.median(values["head", task])
        rows.append((task, base, head, head / base))
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; base {commits['base'][:7]}, "
          f"head {commits['head'][:7]}; {args.rounds} rounds x {args.steps} steps")
    print(f"{'task':<12} {'base s':>8} {'head s':>8} {'head/base':>10}")
    for task, base, head, ratio in rows:
        print(f"{task:<12} {base:>8.3f} {head:>8.3f} {ratio:>10.3f}")
    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    out = os.path.join(BENCH, "results", f"revisions-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(out, "w") as f:
        json.dump({"commits": commits, "rounds": args.rounds, "steps": args.steps,
                   "values": {f"{n}:{t}": v for (n, t), v in values.items()},
                   "rows": rows}, f, indent=1)
    print(f"raw figures: {out}")


if __name__ == "__main__":
    main()
