"""For a GPU owner: checks that the NCCL path (``-c cudnn``, nnabla's
MultiProcessDataParallelCommunicator) trains like the CPU path (mpi4py).

It runs ``tests/parallel/worker.py`` (DARTS and ProxylessNAS searches of a
tiny space without batch statistics) four times: 1 and 2 processes on the
CPU, 1 and 2 processes on GPUs (one per rank), and compares the final
parameters: the 2-process runs must equal the 1-process run of their device
(the averaging), and the GPU runs the CPU runs within ``--atol`` (GPU
kernels round differently). Needs the set-up of docs/distributed.rst (the
CUDA extension, nvidia-nccl-cu12, libmpi.so reachable).

Usage::

    python bench/parallel_gpu_check.py [--processes 2] [--atol 1e-4]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "parallel" / "worker.py"
ALGORITHMS = ("DartsSearcher", "ProxylessNasSearcher")
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def run(processes: int, context: str, data: str, out: Path) -> Path:
    cmd = [sys.executable, str(WORKER), ",".join(ALGORITHMS), data, str(out), context]
    if processes > 1:
        cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(processes)] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        raise SystemExit(f"error: {processes} process(es) on {context} failed: {last}")
    return out


def worst(a: Path, b: Path, algorithm: str) -> float:
    x, y = (np.load(d / algorithm / "final.npz") for d in (a, b))
    return max(float(np.abs(x[k] - y[k]).max()) for k in x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from test_main import tiny_npz
    tmp = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    data = tiny_npz(tmp / "tiny.npz")
    runs = {(p, c): run(p, c, data, tmp / f"{c}-{p}")
            for c in ("cpu", "cudnn") for p in (1, args.processes)}
    failed = False
    for algorithm in ALGORITHMS:
        checks = {
            f"cpu {args.processes} vs cpu 1": (worst(runs[(args.processes, "cpu")],
                                                     runs[(1, "cpu")], algorithm), 1e-5),
            f"cudnn {args.processes} vs cudnn 1": (worst(runs[(args.processes, "cudnn")],
                                                         runs[(1, "cudnn")], algorithm), 1e-5),
            f"cudnn {args.processes} vs cpu {args.processes}": (
                worst(runs[(args.processes, "cudnn")], runs[(args.processes, "cpu")],
                      algorithm), args.atol)}
        for name, (diff, tol) in checks.items():
            ok = diff <= tol
            failed |= not ok
            print(f"{algorithm}: {name}: max |difference| {diff:.2e} "
                  f"({'ok' if ok else 'FAILED'}, tolerance {tol:g})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
