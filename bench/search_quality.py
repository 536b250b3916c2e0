"""Search-quality benchmark: do the searches find cells better than random ones?

On real photos (``natural10_dev.npz`` by default; ``--data`` points at any npz in
the ``npz`` loader's format), in one run and with one fixed retraining budget:

* **searched cells**: a search with each algorithm and DARTS variant of
  :data:`SEARCHES` (``main.py -a DartsSearcher`` / ``ProxylessNasSearcher``),
  then a retrain of the found cell from scratch (``main.py -a Trainer``);
* **random cells**: ``--random`` genotypes of the same space drawn uniformly
  (per node two distinct inputs, each with one of the seven non-``none`` ops);
* **the DARTS paper's cell** (DARTS V2, its published genotype).

Every cell is retrained with each of ``--train-seeds``; the table gives the mean
and spread of the test accuracy, the search's wall time and peak memory (the
``main.py`` process's peak RSS), and how many random cells each entry beats.

Splits: the ``npz`` loader holds out a fixed stratified 20 % as the test set,
which no search and no model selection reads. A search splits the rest in halves
(weights / architecture, ``train_portion`` 0.5); a retrain trains on all of it
minus ``valid_portion`` 0.1, which picks the epoch.

Resumable: every ``main.py`` run has a fixed folder under ``--out`` (default
``bench/results/search_quality/``) and resumes from its checkpoint, and a run
whose ``results.json`` exists is not run again; rerun the same command after a
kill. Writes ``bench/results/search_quality-<stamp>.json``,
``docs/search_quality.md`` and ``docs/search_quality.png``.

    python bench/search_quality.py                 # the defaults below, ~1.5 h on 2 cores
    python bench/search_quality.py --quick         # smoke run in a scratch folder
    python bench/search_quality.py --searches darts pnas --random 4
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Dict, List, Optional

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "natural10_dev.npz"))
RESULTS = os.path.join(ROOT, "bench", "results")
DOC = os.path.join(ROOT, "docs", "search_quality.md")
PLOT = os.path.join(ROOT, "docs", "search_quality.png")

#: The 7 candidates a genotype may keep (``none`` is never exported).
OPS = ("dil_conv_3x3", "dil_conv_5x5", "sep_conv_3x3", "sep_conv_5x5",
       "max_pool_3x3", "avg_pool_3x3", "skip_connect")
NUM_NODES = 4

#: The DARTS paper's cell (DARTS V2, second order; Liu et al. 2019, its published
#: genotype): per node, its two (op, input) edges; inputs 0 and 1 are the two
#: previous cells, 2 + j the intermediate node j.
DARTS_V2 = {
    "normal": [[("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],
               [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)],
               [("sep_conv_3x3", 1), ("skip_connect", 0)],
               [("skip_connect", 0), ("dil_conv_3x3", 2)]],
    "reduce": [[("max_pool_3x3", 0), ("max_pool_3x3", 1)],
               [("skip_connect", 2), ("max_pool_3x3", 1)],
               [("max_pool_3x3", 0), ("skip_connect", 2)],
               [("skip_connect", 2), ("max_pool_3x3", 1)]],
}

#: Searches: name -> (algorithm, label, changes to the search config). Every
#: variant is the plain search of its algorithm plus the keys shown; nothing else
#: differs (same data, supernet, epochs, learning rates and seeds).
SEARCHES = {
    "darts": ("DartsSearcher", "DARTS (first order)", {}),
    "darts-2nd": ("DartsSearcher", "DARTS second order",
                  {"hparams": {"second_order": True}}),
    "pc-darts": ("DartsSearcher", "PC-DARTS K=4, edge norm.",
                 {"network": {"partial_channels": 4, "edge_normalization": True}}),
    "beta-darts": ("DartsSearcher", "beta-DARTS (beta_decay 1)",
                   {"hparams": {"beta_decay": 1.0}}),
    "pnas": ("ProxylessNasSearcher", "ProxylessNAS (REINFORCE)", {}),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="npz file (x, y) of the photos")
    p.add_argument("--out", default=os.path.join(RESULTS, "search_quality"),
                   help="folder of the runs (reused: a rerun resumes)")
    p.add_argument("--searches", nargs="*", default=list(SEARCHES), choices=list(SEARCHES))
    p.add_argument("--random", type=int, default=8, help="random cells")
    p.add_argument("--no-paper", action="store_true", help="leave out the DARTS paper's cell")
    p.add_argument("--search-seed", type=int, default=0)
    p.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--warmup", type=int, default=2, help="search warmup epochs")
    p.add_argument("--search-epochs", type=int, default=5)
    p.add_argument("--train-epochs", type=int, default=5)
    p.add_argument("--search-channels", type=int, default=8)
    p.add_argument("--search-cells", type=int, default=5)
    p.add_argument("--train-channels", type=int, default=16)
    p.add_argument("--train-cells", type=int, default=5)
    p.add_argument("--batch", type=int, default=32, help="search batch size")
    p.add_argument("--train-batch", type=int, default=64)
    p.add_argument("--jobs", type=int, default=2, help="main.py processes at once")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 epoch of everything, 2 random cells, 1 train seed, "
                        "a scratch --out; no docs/ update")
    p.add_argument("--doc", action="store_true",
                   help="write docs/ even with --quick or with failed runs")
    p.add_argument("--note", default="", help="a paragraph added to the docs page")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: report the finished runs under --out (the others are "
                        "listed as not finished)")
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.search_epochs, args.train_epochs = 0, 1, 1
        args.random, args.train_seeds = min(args.random, 2), args.train_seeds[:1]
        if args.out == os.path.join(RESULTS, "search_quality"):
            args.out = os.path.join(RESULTS, "search_quality-quick")
    return args


# -- configs --------------------------------------------------------------------
def merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` merged in, recursively (new dicts, inputs untouched)."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def search_config(a, name: str) -> dict:
    """The config of search ``name``: the algorithm's plain search plus its variant keys."""
    algorithm, _, changes = SEARCHES[name]
    space = "pnas" if algorithm == "ProxylessNasSearcher" else "darts"
    network = {"init_channels": a.search_channels, "num_cells": a.search_cells,
               "stem_multiplier": 2}
    if space == "darts":
        network["shared"] = True
    valid = ({"name": "Adam", "lr": 0.01, "beta1": 0.5, "beta2": 0.999, "weight_decay": 1e-3}
             if space == "darts" else {"name": "Adam", "lr": 6e-3, "beta1": 0.0, "beta2": 0.999})
    hparams = {"epoch": a.search_epochs, "warmup": a.warmup, "batch_size_train": a.batch,
               "batch_size_valid": a.batch, "seed": a.search_seed}
    if space == "pnas":
        hparams["n_iter"] = 5
    base = {
        "dataloader": {"npz": {"path": a.data, "train_portion": 0.5}},
        "network": {space: network},
        "optimizer": {
            "train": {"name": "Momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 3e-4,
                      "grad_clip": 5.0, "lr_scheduler": "CosineScheduler"},
            "valid": valid},
        "hparams": hparams,
    }
    changes = dict(changes)
    if "network" in changes:
        changes["network"] = {space: changes["network"]}
    return merge(base, changes)


def train_config(a, seed: int, genotype_path: str) -> dict:
    """The retraining config: the same for every cell but ``genotype`` and the seed.
    No cutout (the ``npz`` loader has none): random crop + flip only."""
    return {
        "dataloader": {"npz": {"path": a.data, "valid_portion": 0.1}},
        "network": {"darts": {"init_channels": a.train_channels, "num_cells": a.train_cells,
                              "stem_multiplier": 2, "genotype": genotype_path}},
        "optimizer": {
            "train": {"name": "Momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 3e-4,
                      "grad_clip": 5.0, "lr_scheduler": "CosineScheduler"},
        },
        "hparams": {"epoch": a.train_epochs, "batch_size_train": a.train_batch,
                    "batch_size_valid": 128, "seed": seed},
    }


# -- genotypes -------------------------------------------------------------------
def random_genotype(seed: int) -> dict:
    """A uniformly random genotype of the DARTS space: for node ``i``, two distinct
    inputs among ``0..i+1`` and, for each, one of the 7 non-``none`` ops; ``prob``
    is the uniform 1/7 (there was no search)."""
    rng = np.random.RandomState(seed)
    geno = {"num_nodes": NUM_NODES}
    for cell in ("normal", "reduce"):
        nodes = []
        for i in range(NUM_NODES):
            inputs = sorted(int(j) for j in rng.choice(i + 2, size=2, replace=False))
            nodes.append([{"op": OPS[rng.randint(len(OPS))], "input": j,
                           "prob": round(1 / len(OPS), 6)} for j in inputs])
        geno[cell] = nodes
    return geno


def paper_genotype() -> dict:
    """:data:`DARTS_V2` in the ``arch.json`` layout."""
    return {"num_nodes": NUM_NODES,
            **{cell: [[{"op": op, "input": j} for op, j in node] for node in nodes]
               for cell, nodes in DARTS_V2.items()}}


def write_genotype(genotype: dict, path: str) -> None:
    from nnabla_nas.contrib.classification.darts.genotype import save_genotype
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_genotype(genotype, path)


def param_free_share(genotype: dict) -> float:
    """Share of parameter-free ops (pooling, skip) among a genotype's kept edges."""
    ops = [e["op"] for cell in ("normal", "reduce") for node in genotype[cell] for e in node]
    return sum(op in ("max_pool_3x3", "avg_pool_3x3", "skip_connect") for op in ops) / len(ops)


# -- running main.py ---------------------------------------------------------------
_SLOTS = threading.Semaphore(1)
_REPORT_ONLY = False


def run_main(algo: str, config: dict, out_dir: str) -> dict:
    """Runs (or resumes, or skips when finished) ``main.py -a algo`` into ``out_dir``.

    Returns the run's record: wall seconds, peak RSS of the process in MiB,
    whether it resumed an earlier, interrupted run. The record is kept in
    ``out_dir + '.bench.json'`` so that a rerun of the benchmark reports it.
    """
    record_path = out_dir + ".bench.json"
    if os.path.isfile(os.path.join(out_dir, "results.json")) and os.path.isfile(record_path):
        with open(record_path) as f:
            return json.load(f)
    if _REPORT_ONLY and os.path.isfile(os.path.join(out_dir, "results.json")):
        return {}  # finished, but its runner was stopped before it kept the record
    if _REPORT_ONLY:
        raise RuntimeError(f"not finished: {os.path.relpath(out_dir, ROOT)} (--report-only)")
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    cfg_path = out_dir + ".json"
    with open(cfg_path, "w") as f:
        json.dump(config, f, indent=2)
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), "-a", algo, "-f", cfg_path,
           "-o", out_dir, "--quiet"]
    with _SLOTS:
        resumed = os.path.isdir(out_dir) and bool(os.listdir(out_dir))
        print(f"  $ {shlex.join(cmd)}" + (" (resuming)" if resumed else ""), flush=True)
        start = time.monotonic()
        with open(out_dir + ".log", "a") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
    if proc.returncode != 0:
        with open(out_dir + ".log") as f:
            tail = f.read()[-2000:]
        raise RuntimeError(f"{algo} -o {out_dir} exited with {proc.returncode} after "
                           f"{wall:.0f} s; log tail:\n{tail}")
    record = {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
              "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
              "resumed": resumed, "load_end": round(os.getloadavg()[0], 2)}
    with open(record_path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(record_path + ".tmp", record_path)
    print(f"    done in {wall:.0f} s: {os.path.relpath(out_dir, ROOT)}", flush=True)
    return record


def test_accuracy(train_dir: str) -> float:
    with open(os.path.join(train_dir, "results.json")) as f:
        return float(json.load(f)["test_accuracy"])


# -- the table ----------------------------------------------------------------------
def mean_std(xs):
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else float("nan"))


def pct(xs) -> str:
    m, s = mean_std(xs)
    return f"{100 * m:.1f} ± {100 * s:.1f}" if len(xs) > 1 else f"{100 * m:.1f}"


def machine() -> Dict[str, object]:
    from nnabla_nas.export.latency import cpu_model
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def summarize(entries: List[dict]) -> dict:
    """Pools the random cells and ranks every other entry against them."""
    randoms = [e for e in entries if e["kind"] == "random" and e["accuracies"]]
    cell_means = [statistics.mean(e["accuracies"]) for e in randoms]
    pooled = [acc for e in randoms for acc in e["accuracies"]]
    for e in entries:
        if e["kind"] != "random" and e["accuracies"] and cell_means:
            mean = statistics.mean(e["accuracies"])
            e["beats_random"] = sum(mean > m for m in cell_means)
    out = {"random_cells": len(randoms)}
    if pooled:
        m, s = mean_std(pooled)
        out.update(random_mean=m, random_std=s, random_best=max(cell_means),
                   random_worst=min(cell_means))
    return out


def interpret(entries: List[dict], summary: dict) -> List[str]:
    """One sentence per searched / paper entry, against the pooled random cells."""
    if "random_mean" not in summary:
        return ["No random cell finished: nothing to compare with."]
    lines = []
    spread = summary["random_std"]
    for e in entries:
        if e["kind"] == "random" or not e["accuracies"]:
            continue
        diff = statistics.mean(e["accuracies"]) - summary["random_mean"]
        where = ("within" if abs(diff) <= spread else "outside")
        lines.append(f"- **{e['label']}**: {100 * diff:+.1f} points against the random cells' "
                     f"mean, {where} their spread (± {100 * spread:.1f}); above "
                     f"{e.get('beats_random', 0)} of {summary['random_cells']} random cells' "
                     f"means.")
    return lines


def plot(entries: List[dict], summary: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [e for e in entries if e["accuracies"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(shown) + 2), 4.2))
    if "random_mean" in summary:
        m, s = summary["random_mean"], summary["random_std"]
        ax.axhspan(100 * (m - s), 100 * (m + s), color="0.9", zorder=0,
                   label="random cells: mean ± std")
        ax.axhline(100 * m, color="0.6", lw=1, zorder=1)
    colors = {"searched": "tab:blue", "paper": "tab:green", "random": "0.45"}
    for i, e in enumerate(shown):
        accs = [100 * a for a in e["accuracies"]]
        ax.scatter([i] * len(accs), accs, s=14, color=colors[e["kind"]], zorder=3)
        ax.plot([i - 0.3, i + 0.3], [statistics.mean(accs)] * 2, color=colors[e["kind"]],
                lw=2.5, zorder=3)
    ax.set_xticks(range(len(shown)))
    ax.set_xticklabels([e["label"] for e in shown], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Retrained cells on natural10 (dots: seeds; bars: mean)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def markdown(rep: dict) -> str:
    a, s = rep["settings"], rep["summary"]
    lines = [
        "# Search quality: searched cells against random cells on real photos",
        "",
        f"Generated by `bench/search_quality.py` on {rep['date']} ({rep['machine']['cpu']}, "
        f"{rep['machine']['cores']} cores, CPU only; load average at the end "
        f"{rep['load_end']:.1f}; " + ("assembled with `--report-only` from the runs of "
                                      "earlier invocations)." if a.get("report_only") else
                                      f"wall time {rep['total_time_s'] / 60:.0f} min)."),
        "",
        "Command (rerun it: it resumes an interrupted run and skips finished ones):",
        "",
        f"```\n{rep['command']}\n```",
        "",
        "## What was run",
        "",
        f"- Data: `{os.path.basename(a['data'])}`, {rep['data_size']} real 32x32 RGB photos "
        "in 10 classes. The `npz` loader holds out a fixed stratified 20 % as the test set; "
        "no search and no model selection reads it.",
        f"- Searches: supernet init_channels {a['search_channels']}, {a['search_cells']} cells, "
        f"{a['warmup']} warmup + {a['search_epochs']} search epochs, batch {a['batch']}, the "
        "non-test images split in halves for weights and architecture; weights SGD-momentum "
        "lr 0.05 cosine; DARTS alphas Adam lr 0.01 (beta1 0.5), ProxylessNAS alphas Adam "
        "lr 6e-3 (beta1 0), 5 sampled paths per architecture step, `pnas` space (sampling "
        f"`nodes`, per-cell alphas). Search seed {a['search_seed']}. Each variant differs from "
        "its algorithm's plain search only by the keys in the table.",
        f"- Retraining (every cell, the same budget): TrainNet init_channels "
        f"{a['train_channels']}, {a['train_cells']} cells, {a['train_epochs']} epochs, batch "
        f"{a['train_batch']}, SGD-momentum lr 0.05 cosine, random crop + flip, valid_portion "
        f"0.1 picks the epoch; seeds {a['train_seeds']}.",
        f"- Random cells: {a['random']} genotypes drawn uniformly (per node two distinct "
        "inputs, each with one of the 7 non-`none` ops). The DARTS paper's cell: DARTS V2, "
        "its published genotype.",
        f"- {a['jobs']} `main.py` processes ran at once on the 2 cores, so times are measured "
        "under that contention (and under other work on the machine, see the load above).",
        "",
        "## Results",
        "",
        "| cell | variant keys | test accuracy % (mean ± std) | runs | above random cells | "
        "param-free share | search wall (min) | search CPU (min) | search peak RSS (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in rep["entries"]:
        acc = pct(e["accuracies"]) if e["accuracies"] else "not finished"
        beats = (f"{e['beats_random']}/{s['random_cells']}" if "beats_random" in e else "")
        search = e.get("search") or {}
        t = f"{search['wall_s'] / 60:.1f}" if search else ""
        mem = f"{search['peak_rss_mib']:.0f}" if search else ""
        cpu = f"{search['cpu_s'] / 60:.1f}" if "cpu_s" in search else ""
        keys = e.get("keys", "")
        share = f"{e['param_free_share']:.2f}" if e.get("param_free_share") is not None else ""
        lines.append(f"| {e['label']} | {keys} | {acc} | {len(e['accuracies'])} | {beats} | "
                     f"{share} | {t} | {cpu} | {mem} |")
    if "random_mean" in s:
        lines += ["", f"Random cells pooled ({s['random_cells']} cells × "
                  f"{len(a['train_seeds'])} seeds): **{100 * s['random_mean']:.1f} ± "
                  f"{100 * s['random_std']:.1f} %**; per-cell means from "
                  f"{100 * s['random_worst']:.1f} to {100 * s['random_best']:.1f} %."]
    lines += ["", "![test accuracy per cell](search_quality.png)", "", "## Reading",
              ""] + rep["interpretation"]
    if rep["failures"]:
        lines += ["", "Runs that failed or did not finish (their rows are empty or have "
                  "fewer seeds):", ""] + [f"- {f}" for f in rep["failures"]]
    if rep["settings"].get("note"):
        lines += ["", "## Notes", "", rep["settings"]["note"]]
    lines.append("")
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------
def main(argv=None) -> int:
    a = parse_args(argv)
    if not os.path.isfile(a.data):
        print(f"error: --data {a.data}: no such file; give an npz with x (N,32,32,3 or "
              f"N,3,32,32) and y (N,)", file=sys.stderr)
        return 2
    global _SLOTS, _REPORT_ONLY
    _SLOTS = threading.Semaphore(max(1, a.jobs))
    _REPORT_ONLY = a.report_only
    command = shlex.join(["python", "bench/search_quality.py"] +
                         (sys.argv[1:] if argv is None else list(argv)))
    data_size = int(np.load(a.data)["y"].shape[0])
    print(f"search quality: {data_size} images, searches {a.searches}, {a.random} random "
          f"cells, train seeds {a.train_seeds}, runs in {a.out}", flush=True)
    t0 = time.monotonic()

    entries: List[dict] = []
    for name in a.searches:
        algorithm, label, changes = SEARCHES[name]
        keys = ", ".join(f"`{k}: {json.dumps(v)}`" for section in changes.values()
                         for k, v in section.items()) or "(none)"
        entries.append({"name": name, "kind": "searched", "label": label, "keys": keys,
                        "algorithm": algorithm})
    if not a.no_paper:
        entries.append({"name": "darts-v2", "kind": "paper", "label": "DARTS paper cell (V2)",
                        "keys": "published genotype", "genotype": paper_genotype()})
    for k in range(a.random):
        entries.append({"name": f"random{k}", "kind": "random", "label": f"random cell {k}",
                        "keys": f"seed {1000 + k}", "genotype": random_genotype(1000 + k)})
    failures: List[str] = []

    def retrain(e: dict, arch: str) -> None:
        threads = []
        for seed in a.train_seeds:
            t = threading.Thread(target=guarded, args=(e, retrain_one, e, arch, seed))
            t.start()
            threads.append(t)
            time.sleep(0.1)
        for t in threads:
            t.join()

    def retrain_one(e: dict, arch: str, seed: int) -> None:
        out = os.path.join(a.out, "train", e["name"], f"seed{seed}")
        e.setdefault("train_runs", {})[seed] = run_main("Trainer", train_config(a, seed, arch),
                                                        out)
        e.setdefault("acc_by_seed", {})[seed] = test_accuracy(out)

    def chain(e: dict) -> None:
        if e["kind"] == "searched":
            out = os.path.join(a.out, "search", e["name"])
            e["search"] = run_main(e["algorithm"], search_config(a, e["name"]), out)
            arch = os.path.join(out, "arch.json")
            with open(arch) as f:
                e["genotype"] = json.load(f)
            with open(os.path.join(out, "results.json")) as f:
                e["search_results"] = json.load(f)
        else:
            arch = os.path.join(a.out, "cells", f"{e['name']}.json")
            write_genotype(e["genotype"], arch)
        retrain(e, arch)

    def guarded(e: dict, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as err:  # reported in the table; the other runs go on
            failures.append(f"{e['label']}: {str(err).splitlines()[0]}")
            print(f"  FAILED {e['label']}: {err}", flush=True)

    # Searches first (the longest chains), then the fixed cells fill the other slot.
    threads = []
    for e in entries:
        t = threading.Thread(target=guarded, args=(e, chain, e))
        t.start()
        threads.append(t)
        time.sleep(0.2)  # keeps the order in which the runs ask for a slot
    for t in threads:
        t.join()
    total = time.monotonic() - t0

    for e in entries:
        e["accuracies"] = [e["acc_by_seed"][s] for s in sorted(e.get("acc_by_seed", {}))]
        e["param_free_share"] = param_free_share(e["genotype"]) if "genotype" in e else None
    summary = summarize(entries)
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command, "machine": machine(), "data_size": data_size,
        "settings": vars(a), "entries": entries, "summary": summary,
        "failures": failures, "total_time_s": round(total, 1),
        "load_end": os.getloadavg()[0], "interpretation": interpret(entries, summary),
        "configs": {name: search_config(a, name) for name in a.searches},
    }
    report["configs"]["retrain"] = train_config(a, 0, "<arch.json>")

    print()
    for e in entries:
        search = e.get("search") or {}
        print(f"{e['label']:<30} {pct(e['accuracies']) if e['accuracies'] else 'failed':>13} %"
              + (f"  beats {e['beats_random']}/{summary['random_cells']} random"
                 if "beats_random" in e else "")
              + (f"  search {search['wall_s'] / 60:.1f} min, {search['peak_rss_mib']:.0f} MiB"
                 if search else ""))
    if "random_mean" in summary:
        print(f"random cells pooled: {100 * summary['random_mean']:.1f} ± "
              f"{100 * summary['random_std']:.1f} %")
    print("\n".join(report["interpretation"]))
    print(f"total {total / 60:.1f} min; command: {command}")

    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = os.path.join(RESULTS, f"search_quality-{stamp}.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=2, default=str)
    print(f"wrote {os.path.relpath(out, ROOT)}")
    if (not a.quick and not failures) or a.doc:
        plot(entries, summary, PLOT)
        with open(DOC + ".tmp", "w") as f:
            f.write(markdown(report))
        os.replace(DOC + ".tmp", DOC)
        print(f"wrote {os.path.relpath(DOC, ROOT)} and {os.path.relpath(PLOT, ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
