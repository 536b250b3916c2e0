"""Data parallelism: samples per second of 1 process against 2 (``mpiexec -n 2``).

Three workloads, the quickstart's (``--data digits``: the bundled digits, 8x8 grey
images; ``--data rgb32``: the same configs on 4096 random 32x32x3 images of 10
classes, CIFAR-10's size, where a step is more arithmetic than overhead):

1. DARTS search step (weight update + architecture update):
   ``examples/quickstart/digits_search.json``, global batches of 96.
2. ProxylessNAS search step (weight update + REINFORCE over ``n_iter`` paths):
   ``examples/quickstart/digits_pnas_search.json``, global batches of 64.
3. Training step of a DARTS network (``digits_train.json``'s network and batch
   of 64, on a fixed genotype written here).

Each (workload, processes) runs in its own ``mpiexec -n P`` job (P = 1 runs
without mpiexec) that builds the run as ``main.py`` does (config ->
``build_run`` with the communicator of the launch), takes ``--warmup`` steps,
then times ``--steps`` steps; rank 0 reports the median step, the samples of
the global weight batch per second, and the share of the step spent in the
gradient all-reduce (timed around ``Communicator.allreduce_mean``). The
speed-up is samples/s of 2 processes over 1. The machine, its load
(``os.getloadavg``) before and after, and the versions are printed with the
table and saved in ``bench/results/parallel-<timestamp>.json``.

Usage::

    python bench/parallel.py [--steps 20] [--warmup 3] [--workloads darts,pnas,train]
                             [--data digits|rgb32]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = ROOT / "examples" / "quickstart"
WORKLOADS = {"darts": ("DartsSearcher", QUICK / "digits_search.json", "search"),
             "pnas": ("ProxylessNasSearcher", QUICK / "digits_pnas_search.json", "search"),
             "train": ("Trainer", QUICK / "digits_train.json", "train")}
GENOTYPE = {"num_nodes": 4,
            "normal": [[{"op": "sep_conv_3x3", "input": 0}, {"op": "sep_conv_3x3", "input": 1}],
                       [{"op": "sep_conv_3x3", "input": 0}, {"op": "skip_connect", "input": 1}],
                       [{"op": "skip_connect", "input": 0}, {"op": "dil_conv_3x3", "input": 2}],
                       [{"op": "sep_conv_3x3", "input": 1}, {"op": "skip_connect", "input": 0}]],
            "reduce": [[{"op": "max_pool_3x3", "input": 0}, {"op": "max_pool_3x3", "input": 1}],
                       [{"op": "skip_connect", "input": 2}, {"op": "max_pool_3x3", "input": 1}],
                       [{"op": "max_pool_3x3", "input": 0}, {"op": "skip_connect", "input": 2}],
                       [{"op": "skip_connect", "input": 2}, {"op": "max_pool_3x3", "input": 1}]]}
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
MPI_FLAGS = ["--mca", "btl", "self,vader", "--mca", "pml", "ob1", "--oversubscribe"] + \
    os.environ.get("BENCH_MPI_FLAGS", "").split()


def worker(algorithm: str, config_path: str, phase: str, steps: int, warmup: int) -> None:
    """Runs inside the job: times ``steps`` steps of the run the config describes."""
    os.environ.setdefault("NNABLA_CONFIG_FILE_PATH", str(ROOT / "nnabla_nas/cli/nnabla.conf"))
    from nnabla_nas.cli.build import build_run
    from nnabla_nas.cli.config import validate_config
    from nnabla_nas.parallel import from_environment
    from nnabla_nas.utils.context import set_context
    config = validate_config(config_path, algorithm)
    config.hparams.output_path = tempfile.mkdtemp(prefix="bench-parallel-")
    config.hparams.quiet = True
    comm = from_environment("cpu", set_context("cpu"))
    runner = build_run(config, comm).runner
    spent = []
    reduce = comm.allreduce_mean

    def timed(params):  # instrumentation of this benchmark only
        t = time.perf_counter()
        reduce(params)
        spent.append(time.perf_counter() - t)
    comm.allreduce_mean = timed
    for _ in range(warmup):
        runner.train_step(phase)
    comm.barrier()
    times, shares = [], []
    for _ in range(steps):
        spent.clear()
        t = time.perf_counter()
        runner.train_step(phase)
        times.append(time.perf_counter() - t)
        shares.append(sum(spent) / times[-1])
    if comm.is_main:
        batch = config.hparams.batch_size_train
        step = statistics.median(times)
        print("RESULT " + json.dumps({
            "processes": comm.size, "steps": steps, "median_step_s": step,
            "min_step_s": min(times), "max_step_s": max(times),
            "samples_per_s": batch / step, "global_batch": batch,
            "allreduce_share": statistics.median(shares)}), flush=True)


def job(name: str, processes: int, steps: int, warmup: int, genotype: str,
        data: str = "") -> dict:
    algorithm, config, phase = WORKLOADS[name]
    cfg = json.loads(Path(config).read_text())
    if name == "train":  # the quickstart's training config on a fixed genotype
        cfg["network"]["darts"]["genotype"] = genotype
    if data:  # the same options on another dataset
        (options,) = cfg["dataloader"].values()
        cfg["dataloader"] = {"npz": {**options, "path": data}}
    config = Path(genotype).with_name(f"{name}.json")
    config.write_text(json.dumps(cfg))
    args = [sys.executable, __file__, "--worker", algorithm, str(config), phase, str(steps),
            str(warmup)]
    if processes > 1:
        args = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(processes),
                *MPI_FLAGS] + args
    proc = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **MPI_ENV},
                          cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"error: {name} on {processes} process(es) failed: "
                         f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    import mpi4py
    import nnabla
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "nnabla": nnabla.__version__, "mpi4py": mpi4py.__version__,
            "mpi": subprocess.run([str(Path(sys.executable).parent / "mpiexec"), "--version"],
                                  capture_output=True, text=True).stdout.splitlines()[0]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        algorithm, config, phase, steps, warmup = sys.argv[2:]
        return worker(algorithm, config, phase, int(steps), int(warmup))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workloads", default="darts,pnas,train")
    parser.add_argument("--data", choices=["digits", "rgb32"], default="digits")
    args = parser.parse_args()
    names = args.workloads.split(",")
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload '{unknown[0]}'; valid: {', '.join(WORKLOADS)}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    genotype = tmp / "arch.json"
    genotype.write_text(json.dumps(GENOTYPE))
    data = ""
    if args.data == "rgb32":
        import numpy as np
        rng = np.random.RandomState(0)
        data = str(tmp / "rgb32.npz")
        np.savez(data, x=rng.randint(0, 256, (4096, 32, 32, 3)).astype(np.uint8),
                 y=rng.randint(0, 10, 4096))
    report = {"machine": machine(), "data": args.data, "load_before": os.getloadavg(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "results": {}}
    for name in names:
        report["results"][name] = {p: job(name, p, args.steps, args.warmup, str(genotype),
                                          data) for p in (1, 2)}
    report["load_after"] = os.getloadavg()
    out = ROOT / "bench" / "results" / f"parallel-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, nnabla "
          f"{m['nnabla']}, mpi4py {m['mpi4py']}, {m['mpi']}")
    before, after = (", ".join(f"{x:.2f}" for x in report[k])
                     for k in ("load_before", "load_after"))
    print(f"load average (1, 5, 15 min) before: {before}; after: {after}")
    print(f"data: {args.data}; {args.steps} timed steps after {args.warmup} warm-up steps, "
          f"median step\n")
    print("| workload | global batch | 1 process: step, samples/s | 2 processes: step, "
          "samples/s | speed-up | all-reduce share (2 processes) |")
    print("|---|---|---|---|---|---|")
    for name, runs in report["results"].items():
        one, two = runs[1], runs[2]
        print(f"| {name} | {one['global_batch']} | {one['median_step_s'] * 1000:.0f} ms, "
              f"{one['samples_per_s']:.0f} | {two['median_step_s'] * 1000:.0f} ms, "
              f"{two['samples_per_s']:.0f} | {two['samples_per_s'] / one['samples_per_s']:.2f}x"
              f" | {100 * two['allreduce_share']:.1f}% |")
    print(f"\nraw figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
