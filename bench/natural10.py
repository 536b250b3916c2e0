"""End-to-end check on real photos: DARTS search vs. a random genotype on natural10.

For every seed: (1) a small DARTS search on ``natural10_dev.npz`` through
``main.py -a DartsSearcher``, (2) a retrain of the found genotype
(``main.py -a Trainer``), (3) a retrain, with exactly the same Trainer settings, of
a random genotype of the same space drawn with the same seed. Prints a table of
test accuracies with mean and sample standard deviation over seeds, the wall time
of every phase and the machine; writes it all as JSON to
``bench/results/natural10-<stamp>.json`` and as Markdown to ``docs/natural10.md``
(not with ``--quick``, a smoke run, unless ``--doc`` is given).

Every run writes into a fresh folder ``bench/results/natural10/<stamp>/seed<k>/``
(``main.py`` resumes from a folder's checkpoint, so folders are never reused).

    python bench/natural10.py                     # seeds 0 1 2, the settings below
    python bench/natural10.py --seeds 0 --quick   # smoke run: 1 epoch of everything
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

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "natural10_dev.npz"))
RESULTS = os.path.join(ROOT, "bench", "results")
DOC = os.path.join(ROOT, "docs", "natural10.md")

#: The 7 candidates a genotype may keep (``none`` is never exported).
OPS = ("dil_conv_3x3", "dil_conv_5x5", "sep_conv_3x3", "sep_conv_5x5",
       "max_pool_3x3", "avg_pool_3x3", "skip_connect")
NUM_NODES = 4


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 warmup, 1 search and 1 train epoch; no docs/ update")
    p.add_argument("--doc", action="store_true", help="write docs/natural10.md even with --quick")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--warmup", type=int, default=1, help="search warmup epochs")
    p.add_argument("--search-epochs", type=int, default=1)
    p.add_argument("--train-epochs", type=int, default=5)
    p.add_argument("--search-channels", type=int, default=8)
    p.add_argument("--search-cells", type=int, default=5)
    p.add_argument("--train-channels", type=int, default=16)
    p.add_argument("--train-cells", type=int, default=5)
    p.add_argument("--batch", type=int, default=32, help="search batch size")
    p.add_argument("--train-batch", type=int, default=64)
    p.add_argument("--jobs", type=int, default=2,
                   help="main.py processes run at once (each uses ~1 core); with >1 the "
                        "phase times are measured under contention")
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.search_epochs, args.train_epochs = 1, 1, 1
    return args


DEFAULTS = ("1 warmup + 1 search epoch, 5 train epochs, --jobs 2 (sized to finish "
            "in ~13 min on 2 cores)")


def search_config(a, seed):
    return {
        "dataloader": {"npz": {"path": a.data, "train_portion": 0.5}},
        "network": {"darts": {"init_channels": a.search_channels, "num_cells": a.search_cells,
                              "shared": True, "stem_multiplier": 2}},
        "optimizer": {
            "train": {"name": "Momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 3e-4,
                      "grad_clip": 5.0, "lr_scheduler": "CosineScheduler"},
            "valid": {"name": "Adam", "lr": 0.01, "beta1": 0.5, "beta2": 0.999,
                      "weight_decay": 1e-3},
        },
        "hparams": {"epoch": a.search_epochs, "warmup": a.warmup, "batch_size_train": a.batch,
                    "batch_size_valid": a.batch, "seed": seed},
    }


def train_config(a, seed, genotype_path):
    """The Trainer config; identical for the searched and the random genotype but
    for ``genotype``. No cutout (``npz`` has none): random crop + flip only."""
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


def random_genotype(seed):
    """A uniformly random genotype of the DARTS space: for node ``i``, two distinct
    inputs among ``0..i+1`` and, for each, one of the 7 non-``none`` ops. ``prob``
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


_SLOTS = threading.Semaphore(1)


def run_main(algo, config, out_dir):
    """Runs ``main.py -a algo`` on ``config`` (written beside ``out_dir``); returns
    (wall seconds, the command). Output goes to ``out_dir + '.log'``."""
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    cfg_path = out_dir + ".json"
    with open(cfg_path, "w") as f:
        json.dump(config, f, indent=2)
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), "-a", algo, "-f", cfg_path, "-o", out_dir]
    with _SLOTS:
        print(f"  $ {shlex.join(cmd)}", flush=True)
        start = time.monotonic()
        with open(out_dir + ".log", "w") as log:
            rc = subprocess.call(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        wall = time.monotonic() - start
    if rc != 0:
        with open(out_dir + ".log") as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f"{algo} exited with {rc} after {wall:.0f} s; log tail:\n{tail}")
    print(f"    done in {wall:.1f} s: {os.path.relpath(out_dir, ROOT)}", flush=True)
    return wall, shlex.join(cmd)


def test_accuracy(train_dir):
    with open(os.path.join(train_dir, "results.json")) as f:
        return float(json.load(f)["test_accuracy"])


def op_counts(geno):
    counts = {}
    for cell in ("normal", "reduce"):
        c = {}
        for edges in geno[cell]:
            for e in edges:
                c[e["op"]] = c.get(e["op"], 0) + 1
        counts[cell] = dict(sorted(c.items(), key=lambda kv: -kv[1]))
    return counts


def machine():
    from nnabla_nas.export.latency import cpu_model
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def mean_std(xs):
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else float("nan"))


def fmt_ms(xs):
    m, s = mean_std(xs)
    return f"{100 * m:.1f} ± {100 * s:.1f} %"


def markdown(rep):
    a, s = rep["settings"], rep["summary"]
    lines = [
        "# natural10: DARTS search vs. random genotypes on real photos",
        "",
        f"Generated by `bench/natural10.py` on {rep['date']} "
        f"({rep['machine']['cpu']}, {rep['machine']['cores']} cores, CPU only).",
        "",
        "## What was run",
        "",
        f"Data: `natural10_dev.npz`, {rep['data_size']} real 32x32 RGB photos in 10 classes "
        "(the first ten CIFAR-100 classes); the `npz` loader holds out a fixed stratified "
        "20 % as the test set, which neither the search nor model selection sees.",
        "",
        "For each seed:",
        "",
        f"1. **search**: `main.py -a DartsSearcher`, DARTS supernet init_channels "
        f"{a['search_channels']}, {a['search_cells']} cells, shared alphas, "
        f"{a['warmup']} warmup + {a['search_epochs']} search epochs, batch {a['batch']}, "
        "train_portion 0.5 (weights/alphas), SGD-momentum lr 0.05 cosine for weights, "
        "Adam lr 0.01 for alphas;",
        f"2. **searched**: `main.py -a Trainer` on the found `arch.json`: TrainNet "
        f"init_channels {a['train_channels']}, {a['train_cells']} cells, "
        f"{a['train_epochs']} epochs, batch {a['train_batch']}, SGD-momentum lr 0.05 cosine, "
        "valid_portion 0.1 (picks the epoch), random crop + flip, no cutout;",
        "3. **random**: the same Trainer settings on a random genotype of the same space "
        "drawn with the same seed (per node 2 distinct inputs, each with one of the 7 "
        "non-`none` ops, uniformly).",
        "",
        f"{a['jobs']} `main.py` process(es) ran at once"
        + (" (2 cores), so the phase times below are measured under contention."
           if a["jobs"] > 1 else "."),
        "",
        "Command:",
        "",
        f"```\n{rep['command']}\n```",
        "",
        f"Defaults of the script: {DEFAULTS}; this run's flags are in the command.",
        "",
        "## Results (test accuracy)",
        "",
        "| seed | searched | random | search (s) | train searched (s) | train random (s) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rep["runs"]:
        lines.append(f"| {r['seed']} | {100 * r['searched_test_accuracy']:.1f} % | "
                     f"{100 * r['random_test_accuracy']:.1f} % | {r['time_search_s']:.0f} | "
                     f"{r['time_train_searched_s']:.0f} | {r['time_train_random_s']:.0f} |")
    lines += [
        "",
        f"- searched: **{s['searched']}** (mean ± sample std over {len(rep['runs'])} seeds)",
        f"- random: **{s['random']}**",
        f"- difference searched − random: {s['difference']}",
        f"- total wall time: {rep['total_time_s']:.0f} s",
        "",
        "Ops kept by the searched genotypes (normal / reduce cell, 8 edges each):",
        "",
    ]
    for r in rep["runs"]:
        c = r["searched_op_counts"]
        lines.append(f"- seed {r['seed']}: normal {c['normal']}; reduce {c['reduce']}")
    top = max(e.get("prob", 0) for r in rep["runs"] for c in ("normal", "reduce")
              for edges in r["searched_genotype"][c] for e in edges)
    lines += ["", f"The largest probability of any kept edge was {top:.3f}, against "
              f"{1 / 8:.3f} for uniform alphas over the 8 candidates: the alphas moved "
              "little in this short search, so the searched genotypes are close to a "
              "draw from near-uniform alphas."]
    lines += ["", "## Interpretation", "", rep["interpretation"], ""]
    return "\n".join(lines)


def interpret(searched, random_):
    ms, ss = mean_std(searched)
    mr, sr = mean_std(random_)
    diff = ms - mr
    spread = max(ss, sr)
    n = len(searched)
    if n < 2:
        return ("One seed only: no spread, so this run says nothing about whether the "
                "search beats random genotypes.")
    if abs(diff) <= spread:
        verdict = (f"The searched genotypes' mean differs from the random ones' by "
                   f"{100 * diff:+.1f} points, within the seed-to-seed spread "
                   f"(up to {100 * spread:.1f} points): on this evidence the search is "
                   "not distinguishable from random genotypes of the same space.")
    else:
        verdict = (f"The searched genotypes' mean differs from the random ones' by "
                   f"{100 * diff:+.1f} points, more than the seed-to-seed spread "
                   f"(up to {100 * spread:.1f} points), but with {n} seeds this is a hint, "
                   "not a significant result.")
    return (verdict + f" With {n} seeds, a ~167-image test set (one image ≈ 0.6 points) "
            "and short training, differences smaller than the spread are not evidence "
            "either way; this is an end-to-end check that the pipeline runs on real "
            "photos, not a benchmark of the search.")


def main(argv=None):
    a = parse_args(argv)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = os.path.join(RESULTS, "natural10", stamp)
    command = shlex.join([sys.executable, os.path.relpath(__file__, ROOT)] + sys.argv[1:]) \
        if argv is None else shlex.join(["bench/natural10.py"] + list(argv))
    data_size = int(np.load(a.data)["y"].shape[0])
    print(f"natural10: {data_size} images, seeds {a.seeds}, output {base}", flush=True)
    t0 = time.monotonic()
    global _SLOTS
    _SLOTS = threading.Semaphore(max(1, a.jobs))
    results, errors = {}, []

    def searched_chain(seed, d):
        # search, then retrain what it found
        t_search, _ = run_main("DartsSearcher", search_config(a, seed), os.path.join(d, "search"))
        arch = os.path.join(d, "search", "arch.json")
        t_ts, _ = run_main("Trainer", train_config(a, seed, arch),
                           os.path.join(d, "train_searched"))
        with open(arch) as f:
            results[seed, "searched"] = (json.load(f), t_search, t_ts)

    def random_chain(seed, d):
        os.makedirs(d, exist_ok=True)
        rand = random_genotype(seed)
        rand_path = os.path.join(d, "random_arch.json")
        with open(rand_path, "w") as f:   # the layout of save_genotype: a line per node
            f.write("{\n  \"num_nodes\": %d,\n" % NUM_NODES + ",\n".join(
                f"  {json.dumps(c)}: [\n" + ",\n".join(f"    {json.dumps(e)}" for e in rand[c])
                + "\n  ]" for c in ("normal", "reduce")) + "\n}\n")
        t_tr, _ = run_main("Trainer", train_config(a, seed, rand_path),
                           os.path.join(d, "train_random"))
        results[seed, "random"] = (rand, t_tr)

    def guarded(fn, *args):
        try:
            fn(*args)
        except Exception as err:  # reported after all threads end
            errors.append(err)

    threads = []
    # searches first (longest), then the random retrains, so that with --jobs 2 the
    # random retrains fill the second slot while searches run
    for chain in (searched_chain, random_chain):
        for seed in a.seeds:
            d = os.path.join(base, f"seed{seed}")
            t = threading.Thread(target=guarded, args=(chain, seed, d))
            t.start()
            threads.append(t)
            time.sleep(0.2)  # keeps the semaphore's first-come order
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    runs = []
    for seed in a.seeds:
        d = os.path.join(base, f"seed{seed}")
        searched, t_search, t_ts = results[seed, "searched"]
        rand, t_tr = results[seed, "random"]
        run = {"seed": seed,
               "searched_test_accuracy": test_accuracy(os.path.join(d, "train_searched")),
               "random_test_accuracy": test_accuracy(os.path.join(d, "train_random")),
               "time_search_s": round(t_search, 1), "time_train_searched_s": round(t_ts, 1),
               "time_train_random_s": round(t_tr, 1),
               "searched_genotype": searched, "random_genotype": rand,
               "searched_op_counts": op_counts(searched), "random_op_counts": op_counts(rand),
               "folder": os.path.relpath(d, ROOT)}
        runs.append(run)
    total = time.monotonic() - t0

    sa = [r["searched_test_accuracy"] for r in runs]
    ra = [r["random_test_accuracy"] for r in runs]
    diffs = [x - y for x, y in zip(sa, ra)]
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command, "machine": machine(), "data": a.data, "data_size": data_size,
        "settings": {k: v for k, v in vars(a).items() if k not in ("data", "doc")},
        "runs": runs,
        "summary": {"searched": fmt_ms(sa), "random": fmt_ms(ra), "difference": fmt_ms(diffs),
                    "searched_mean": statistics.mean(sa), "random_mean": statistics.mean(ra),
                    "searched_std": mean_std(sa)[1], "random_std": mean_std(ra)[1]},
        "total_time_s": round(total, 1),
        "interpretation": interpret(sa, ra),
        "configs": {"search": search_config(a, "<seed>"),
                    "train": train_config(a, "<seed>", "<arch.json>")},
    }

    print()
    print(f"{'seed':>4} | {'searched':>9} | {'random':>9} | {'search s':>8} | "
          f"{'train s':>7} | {'random s':>8}")
    for r in runs:
        print(f"{r['seed']:>4} | {100 * r['searched_test_accuracy']:8.1f}% | "
              f"{100 * r['random_test_accuracy']:8.1f}% | {r['time_search_s']:8.0f} | "
              f"{r['time_train_searched_s']:7.0f} | {r['time_train_random_s']:8.0f}")
    print(f"searched {report['summary']['searched']}   random {report['summary']['random']}   "
          f"searched-random {report['summary']['difference']}  (mean ± sample std)")
    for r in runs:
        print(f"seed {r['seed']} searched ops: {r['searched_op_counts']}")
    m = report["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores; total {total:.0f} s")
    print(f"command: {command}")
    print(report["interpretation"])

    os.makedirs(RESULTS, exist_ok=True)
    out = os.path.join(RESULTS, f"natural10-{stamp}.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {os.path.relpath(out, ROOT)}")
    if not a.quick or a.doc:
        with open(DOC, "w") as f:
            f.write(markdown(report))
        print(f"wrote {os.path.relpath(DOC, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
