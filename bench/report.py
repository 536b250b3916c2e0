"""The report of ``bench/compare.py``: targets, the table, the machine, docs/benchmarks.md.

Everything here works on the figures the workers printed (``Results``: one dict
per (package, task)); nothing here runs a benchmark.
"""

import os
import platform
import subprocess
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "benchmarks.md")
PACKAGES = ("old", "ours")

NOISE_NOTE = ("The machine has 2 cores shared with other people's test runs, so the "
              "figures are noisy; compare medians, and trust ratios far from the "
              "target more than ones near it.")

Results = Dict[Tuple[str, str], dict]  # (package, task) -> the worker's figures


@dataclass
class Row:
    """One line of the table: a task's figure for both packages and its target."""

    workload: int
    task: str
    label: str
    target: str
    #: Results -> (the value checked, whether the target is met); None if unknown.
    check: Callable[[Results], Optional[Tuple[float, bool]]]
    #: Which figure of the worker's result to show (``median`` or another key).
    figure: str = "median"


def ratio(results: Results, task: str, figure: str = "median") -> Optional[float]:
    """Ours over old for ``figure`` of ``task``; None unless both ran."""
    old, ours = results.get(("old", task)), results.get(("ours", task))
    if not old or not ours or "error" in old or "error" in ours:
        return None
    return ours[figure] / old[figure]


def ours_value(results: Results, task: str, figure: str = "median") -> Optional[float]:
    """Ours' ``figure`` of ``task``; None unless it ran."""
    ours = results.get(("ours", task))
    return None if not ours or "error" in ours else ours[figure]


def at_most(value: Optional[float], bound: float) -> Optional[Tuple[float, bool]]:
    """``(value, value <= bound)``, or None for a missing value."""
    return None if value is None else (value, value <= bound)


def pnas_vs_darts_memory(results: Results, figure: str) -> Optional[Tuple[float, bool]]:
    """Ours' ProxylessNAS memory over ours' DARTS memory, checked against 0.25."""
    pnas, darts = ours_value(results, "pnas-memory", figure), \
        ours_value(results, "darts-memory", figure)
    return None if pnas is None or darts is None else (pnas / darts, pnas / darts <= 0.25)


ROWS = [
    Row(1, "darts-step", "DARTS search step", "ours/old <= 0.6",
        lambda r: at_most(ratio(r, "darts-step"), 0.6)),
    Row(2, "pnas-step", "ProxylessNAS search step", "ours/old <= 0.5",
        lambda r: at_most(ratio(r, "pnas-step"), 0.5)),
    Row(3, "graph", "graph of one sampled path", "ours/old <= 0.25",
        lambda r: at_most(ratio(r, "graph"), 0.25)),
    Row(4, "darts-memory", "DARTS step, peak RSS", "ours/old <= 0.7",
        lambda r: at_most(ratio(r, "darts-memory"), 0.7)),
    Row(4, "pnas-memory", "ProxylessNAS step, peak RSS", "ours: <= 0.25 x ours DARTS",
        lambda r: pnas_vs_darts_memory(r, "median")),
    Row(4, "darts-memory", "DARTS step, RSS growth in the step", "(same, on growth) <= 0.7",
        lambda r: at_most(ratio(r, "darts-memory", "step_increase_mb"), 0.7),
        figure="step_increase_mb"),
    Row(4, "pnas-memory", "ProxylessNAS step, RSS growth in the step",
        "(same, on growth) <= 0.25 x", lambda r: pnas_vs_darts_memory(r, "step_increase_mb"),
        figure="step_increase_mb"),
    Row(5, "darts-overhead", "DARTS step, share outside nnabla", "ours <= 5 %",
        lambda r: at_most(ours_value(r, "darts-overhead"), 5.0)),
    Row(5, "pnas-overhead", "ProxylessNAS step, share outside nnabla", "ours <= 15 %",
        lambda r: at_most(ours_value(r, "pnas-overhead"), 15.0)),
]


#: Decimals shown per unit.
DIGITS = {"s": 2, "ms": 1, "MiB": 0, "%": 1}


def fmt(result: Optional[dict], figure: str = "median") -> str:
    """``median [min-max] unit`` of a worker result (a single value for memory)."""
    if not result:
        return "-"
    if "error" in result:
        return "failed"
    unit = result["unit"]
    digits = DIGITS[unit]
    if figure != "median" or result["min"] == result["max"]:
        return f"{result[figure]:.{digits}f} {unit}"
    return (f"{result['median']:.{digits}f} [{result['min']:.{digits}f}-"
            f"{result['max']:.{digits}f}] {unit}")


def table(results: Results, tasks: List[str]) -> List[dict]:
    """The rows of the report for the tasks that ran."""
    rows = []
    for row in ROWS:
        if row.task not in tasks:
            continue
        old, ours = results.get(("old", row.task)), results.get(("ours", row.task))
        checked = row.check(results)
        r = ratio(results, row.task, row.figure)
        rows.append({
            "workload": row.workload, "task": row.task, "label": row.label,
            "old": fmt(old, row.figure), "ours": fmt(ours, row.figure),
            "ratio": "-" if r is None else f"{r:.2f}",
            "target": row.target,
            "checked": None if checked is None else round(checked[0], 4),
            "met": "-" if checked is None else ("yes" if checked[1] else "NO"),
            "peak_rss": " / ".join("-" if not x or "error" in x else f"{x['peak_rss_mb']:.0f}"
                                   for x in (old, ours)),
        })
    return rows


def markdown(rows: List[dict]) -> str:
    """The rows as a Markdown table."""
    head = ("| # | workload | old: median [min-max] | ours: median [min-max] | ours/old | "
            "target | checked value | met | peak RSS old / ours (MiB) |")
    lines = [head, "|---|---|---:|---:|---:|---|---:|---|---:|"]
    for r in rows:
        checked = "-" if r["checked"] is None else f"{r['checked']:.3g}"
        lines.append(f"| {r['workload']} | {r['label']} | {r['old']} | {r['ours']} | "
                     f"{r['ratio']} | {r['target']} | {checked} | {r['met']} | "
                     f"{r['peak_rss']} |")
    return "\n".join(lines)


def read_field(path: str, key: str, sep: str = ":") -> str:
    """The value of the first ``key<sep>value`` line of a text file, or ``?``."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(sep)
                if name.strip() == key:
                    return value.strip().strip('"')
    except OSError:
        pass
    return "?"


def git_state() -> str:
    """``HEAD``'s short hash, noting uncommitted changes under ``nnabla_nas/`` (read only)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "--no-optional-locks"] + list(args), cwd=ROOT,
                              capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""
    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "nnabla_nas")
    return head + (" with uncommitted changes in nnabla_nas/" if dirty else "")


def machine(results: Results) -> dict:
    """CPU, cores, RAM, OS and the versions the workers reported."""
    reported = {p: next((r for (q, _), r in results.items() if q == p and "error" not in r),
                        {}) for p in PACKAGES}
    mem_kb = read_field("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": read_field("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem_kb) / 2 ** 20, 1) if mem_kb.isdigit() else None,
        "os": read_field("/etc/os-release", "PRETTY_NAME", "=") + f", Linux {platform.release()}",
        **{f"{p}_{k}": reported[p].get(k, "-") for p in PACKAGES
           for k in ("package", "python", "nnabla")},
    }


DOCS_HEADER = """# Benchmarks: NNablaNAS 0.9.0 and this package

Written by `bench/compare.py` (`make bench`); each run appends a section below, and the
raw figures of every run are in `bench/results/` (not committed).

Both packages run the same workloads through their own classes on the CPU, with the
same nnabla, in separate processes (one per package and task, old and ours
alternating): random 32x32x3 inputs, 10 classes, the DARTS cell space, and the solver
settings of NNablaNAS's CIFAR-10 search examples (Momentum 0.025 with weight decay and
gradient clipping for the weights, Adam for the alphas), without the learning-rate
schedule. The old package (from PyPI, in `bench/.old-venv`) is driven through its
`DartsSearcher` / `ProxylessNasSearcher` (`callback_on_start`, then `train_on_batch` +
`valid_on_batch` per step), its `Optimizer`, its `SearchNet` and its `BaseDataLoader`
interface; ours through the same classes of `nnabla_nas`. A time is the median of the
timed steps after one warm-up step, with [min-max]; the graph figure is the median of
10 builds per step, each of a newly drawn path. The cost of a ProxylessNAS step and of
a sampled path's graph depends on the paths drawn, and each package draws its own, so
these figures (and the ProxylessNAS overhead share) pool several rounds, each a new
process with its own seed, old and ours alternating round by round (each section
gives the rounds and the median of each). Memory is the
process's peak RSS (`ru_maxrss`) after one step of the larger network, and its growth
during that step.
The overhead share is the part of a step spent outside nnabla's `Variable.forward` /
`backward`, `nnabla.forward_all` and the solvers' `update`, `weight_decay`, `zero_grad`,
`clip_grad_by_norm` and `scale_grad` (graph building, parameter bookkeeping, numpy work).
The two packages do not run identical computations: 0.9.0 builds a separate
inference-mode graph for the DARTS architecture step and recreates solver state on
every ProxylessNAS step (ours reuses one graph and keeps the state); its search cell
has affine batch normalization and bare pooling candidates, ours non-affine batch
normalization, also after the pooling candidates (as DARTS' reference code), and ours
does not build the `none` candidate in `full` mode (its term is zero). "Ours" is the
working tree at the commit given in each section.
"""


def per_round(record: dict) -> List[str]:
    """One line per task that ran in rounds: the median of each round, old and ours."""
    lines = []
    tasks = dict.fromkeys(key.split("/", 1)[1] for key in record["results"])
    for task in tasks:
        parts = {p: record["results"].get(f"{p}/{task}", {}) for p in PACKAGES}
        if not any("round_medians" in r for r in parts.values()):
            continue
        pooled = [r for r in parts.values() if "round_medians" in r]
        unit = pooled[0]["unit"]
        text = "; ".join(f"{p} " + ", ".join(f"{v:.{DIGITS[unit] + 1}f}"
                                             for v in r["round_medians"])
                         for p, r in parts.items() if "round_medians" in r)
        lines.append(f"- {task}, median of each round (seeds "
                     f"{', '.join(map(str, pooled[0]['seeds']))}): {text} {unit}")
    return lines


def append_docs(record: dict, rows: List[dict]) -> None:
    """Appends this run's section to ``docs/benchmarks.md`` (created if missing)."""
    m = record["machine"]
    section = [
        f"## {record['date']}", "",
        f"- Command: `{record['command']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}",
        f"- Old: nnabla-nas {m['old_package']}, Python {m['old_python']}, nnabla "
        f"{m['old_nnabla']}; ours: nnabla-nas {m['ours_package']}, Python "
        f"{m['ours_python']}, nnabla {m['ours_nnabla']}, commit {record['ours_commit']}",
        f"- {record['steps']} timed steps after one warm-up (for the ProxylessNAS step, "
        f"its overhead and the graph: {record['rounds']} rounds of that, seeds 0-"
        f"{record['rounds'] - 1}); load average (1 min) "
        f"{record['load_before']:.2f} before, {record['load_after']:.2f} after; "
        f"{record['minutes']:.0f} min in all",
        *per_round(record), f"- Noise: {NOISE_NOTE}", "", markdown(rows), "",
    ]
    new = not os.path.isfile(DOCS)
    with open(DOCS, "a") as f:
        if new:
            f.write(DOCS_HEADER)
        f.write("\n" + "\n".join(section))
