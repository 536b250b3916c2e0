"""Faults: kills at random moments, stop signals, NaN, unwritable folders, write errors."""

import csv
import json
import random
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.utils.io import load_h5_parameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_main import ROOT, pnas_config, search_config, tiny_npz, write  # noqa: E402

pytestmark = pytest.mark.slow
COUNTS = {"kills": 0, "signals": 0}


def command(cfg, out, algorithm="DartsSearcher"):
    return [sys.executable, str(ROOT / "main.py"), "-a", algorithm, "-f", str(cfg),
            "-o", str(out)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    data = tiny_npz(tmp / "tiny.npz")
    cfg = write(tmp / "search.json", search_config(data, epochs=3, warmup=1))
    out = tmp / "ref"
    proc = subprocess.run(command(cfg, out), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return tmp, cfg, out


def assert_loadable(out: Path, killed: bool = False) -> None:
    """Every file a kill may have interrupted is whole (a kill may leave a hidden
    temporary file, which the next run removes)."""
    for name in ("arch.h5", "weights.h5"):
        if (out / name).exists():
            load_h5_parameters(str(out / name))
    if (out / "arch.json").exists():
        json.loads((out / "arch.json").read_text())
    state = out / "checkpoint" / "state.json"
    if state.exists():
        files = json.loads(state.read_text())["files"]
        for name in files.values():
            load_h5_parameters(str(out / "checkpoint" / name)) if name.startswith("params") \
                else (out / "checkpoint" / name).stat()
    if (out / "metrics.csv").exists():
        list(csv.DictReader((out / "metrics.csv").open()))
    leftovers = [p.name for p in out.rglob(".*.tmp*")]
    assert killed or not leftovers, leftovers


def metrics(out: Path) -> list:
    """The rows of ``metrics.csv`` without the wall-clock ``seconds`` column."""
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def assert_same_result(out: Path, ref: Path) -> None:
    """Bit-identical final files: a resumed run is the uninterrupted run."""
    names = [n for n in ("arch.h5", "weights.h5") if (ref / n).exists()]
    assert names
    if (ref / "arch.json").exists():
        assert (out / "arch.json").read_text() == (ref / "arch.json").read_text()
    for name in names:
        ours, theirs = load_h5_parameters(str(out / name)), load_h5_parameters(str(ref / name))
        assert list(ours) == list(theirs)
        for key in theirs:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"{name}: {key}")
    assert metrics(out) == metrics(ref)


def test_repeated_sigkill_at_random_moments(reference, tmp_path):
    _, cfg, ref = reference
    out = tmp_path / "out"
    rnd = random.Random(7)
    kills = 0
    for _ in range(5):  # five kills at random moments, then one run to the end
        proc = subprocess.Popen(command(cfg, out), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rnd.uniform(1.0, 4.0))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            COUNTS["kills"] += 1
            assert_loadable(out, killed=True)
            continue
        assert proc.returncode == 0
    assert kills >= 1, "no kill landed: the run is faster than the delays"
    done = subprocess.run(command(cfg, out), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_loadable(out)
    assert_same_result(out, ref)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stop_signal_checkpoints_mid_epoch_and_resumes(reference, tmp_path, sig, code):
    _, cfg, ref = reference
    out = tmp_path / "out"
    proc = subprocess.Popen(command(cfg, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    state = out / "checkpoint" / "state.json"
    while not state.exists() and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(sig)
    stdout, _ = proc.communicate(timeout=120)
    COUNTS["signals"] += 1
    assert proc.returncode == code, stdout
    assert "rerun the same command to resume" in stdout
    saved = json.loads(state.read_text())
    assert saved["epoch"] >= 1
    done = subprocess.run(command(cfg, out), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stdout
    assert_same_result(out, ref)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 1 + 2 * 3  # header, warmup epoch, 3 search epochs x 2 splits


def test_nan_loss_stops_and_keeps_last_checkpoint(reference, tmp_path):
    tmp, _, _ = reference
    cfg = search_config(str(tmp / "tiny.npz"), epochs=2, warmup=1)
    cfg["optimizer"]["warmup"] = dict(cfg["optimizer"]["train"])
    cfg["optimizer"]["train"] = {"name": "Sgd", "lr": 1e30}
    out = tmp_path / "out"
    proc = subprocess.run(command(write(tmp_path / "nan.json", cfg), out), capture_output=True,
                          text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert re.search(r"loss is (nan|inf) at epoch 2, step \d+; the last good checkpoint", lines[0])
    assert json.loads((out / "checkpoint" / "state.json").read_text())["epoch"] == 1
    assert_loadable(out)


def test_unwritable_output_folder(reference, tmp_path):
    _, cfg, _ = reference
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = subprocess.run(command(cfg, blocker / "out"), capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write to the output folder" in lines[0], proc.stderr


def test_write_error_mid_run_leaves_earlier_files_intact(reference, tmp_path):
    """A file-size limit makes the first large write fail (EFBIG), as a full disk would."""
    _, cfg, _ = reference
    out = tmp_path / "out"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    proc = subprocess.run(command(cfg, out), capture_output=True, text=True, preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr
    assert "failed" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    json.loads((out / "config.json").read_text())
    assert_loadable(out)


def test_mid_run_error_is_one_line_with_traceback_in_log(reference, tmp_path):
    """A latency table for another device that lacks a layer stops the search
    at its first architecture step: one line on stderr, the traceback in log.txt."""
    tmp, _, _ = reference
    cfg = search_config(str(tmp / "tiny.npz"), epochs=1, warmup=1)
    cfg["network"] = {"pnas": cfg["network"]["darts"]}
    del cfg["network"]["pnas"]["shared"]
    cfg["optimizer"]["regularizer"] = {"LatencyEstimator": {"context": "board:float"}}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "-a", "ProxylessNasSearcher",
                           "-f", write(tmp_path / "c.json", cfg), "-o", str(out), "-q"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not in the latency table for context 'board:float'" in lines[0]
    assert "Traceback" in (out / "log.txt").read_text()
    assert json.loads((out / "checkpoint" / "state.json").read_text())["epoch"] == 1


def test_rerun_with_a_different_config_is_refused(reference, tmp_path):
    tmp, cfg, ref = reference
    changed = json.loads(Path(cfg).read_text())
    changed["hparams"]["epoch"] = 5
    changed["optimizer"]["train"]["lr"] = 0.5
    proc = subprocess.run(command(write(tmp_path / "c.json", changed), ref),
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "differing keys: hparams.epoch, optimizer.train.lr" in proc.stderr


def test_resume_removes_stale_temporaries(reference, tmp_path):
    import shutil
    _, cfg, ref = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    (out / ".arch.abc123.tmp.h5").write_bytes(b"half")
    (out / "checkpoint" / ".params-9-0.xyz.tmp.h5").write_bytes(b"half")
    proc = subprocess.run(command(cfg, out), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "removed 2 temporary file(s)" in proc.stdout
    assert not list(out.rglob(".*.tmp*"))
    assert json.loads((out / "checkpoint" / "state.json").read_text()) == state


# -- kills at random moments of whole runs, for every algorithm (issue 17) -------------

def other_configs(data, genotype):
    """Tiny ProxylessNAS search and training (drop-path, auxiliary head) configs."""
    pnas = pnas_config(data)
    pnas["hparams"]["epoch"] = 3
    train = {"dataloader": {"npz": {"path": data, "valid_portion": 0.25}},
             "network": {"darts": {"init_channels": 4, "num_cells": 3, "num_choices": 2,
                                   "multiplier": 2, "stem_multiplier": 1, "genotype": genotype,
                                   "auxiliary": True, "drop_path": 0.3}},
             "optimizer": {"train": {"name": "Momentum", "lr": 0.05, "momentum": 0.9,
                                     "grad_clip": 5.0, "lr_scheduler": "CosineScheduler"}},
             "hparams": {"epoch": 4, "batch_size_train": 16, "batch_size_valid": 16,
                         "mini_batch_train": 8, "loss_weights": [1.0, 0.4], "seed": 3}}
    return {"ProxylessNasSearcher": pnas, "Trainer": train}


@pytest.fixture(scope="module")
def uninterrupted(reference):
    """One uninterrupted run of each algorithm: algorithm -> (config, output). The
    DARTS one is :func:`reference`; the training retrains its genotype."""
    tmp, cfg, ref = reference
    runs = {"DartsSearcher": (cfg, ref)}
    for algorithm, config in other_configs(str(tmp / "tiny.npz"),
                                           str(ref / "arch.json")).items():
        path = write(tmp / f"{algorithm}.json", config)
        out = tmp / algorithm
        proc = subprocess.run(command(path, out, algorithm), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        runs[algorithm] = (path, out)
    return runs


def interrupt(cmd, out, epoch, seconds, sig):
    """Starts ``cmd``, waits until the checkpoint of ``epoch`` is committed (at once
    for 0), then ``seconds``, and sends ``sig``. Returns the exit code."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "checkpoint" / "state.json"
    while proc.poll() is None and epoch > 0:
        try:
            if state.exists() and json.loads(state.read_text())["epoch"] >= epoch:
                break
        except ValueError:  # replaced while we read it
            pass
        time.sleep(0.02)
    time.sleep(seconds)
    if proc.poll() is None:
        proc.send_signal(sig)
        COUNTS["kills" if sig == signal.SIGKILL else "signals"] += 1
    return proc.wait(timeout=600)


@pytest.mark.parametrize("algorithm", ["DartsSearcher", "ProxylessNasSearcher", "Trainer"])
def test_killed_and_stopped_at_random_moments_resumes_bit_identically(
        uninterrupted, tmp_path, algorithm):
    """A SIGKILL and then a SIGINT, each at a random moment of the whole run (a
    random number of epochs, so after warm-up or after several epochs, plus a
    random part of the next epoch), then a rerun to the end: the same files, to
    the last bit, as the uninterrupted run."""
    cfg, ref = uninterrupted[algorithm]
    durations = {int(row["epoch"]): float(row["seconds"])
                 for row in csv.DictReader((ref / "metrics.csv").open())}
    out = tmp_path / "out"
    cmd = command(cfg, out, algorithm)
    moments = sorted((random.randrange(1, len(durations)), random.uniform(0.1, 0.9))
                     for _ in range(2))
    seen = []
    for (epoch, part), sig in zip(moments, (signal.SIGKILL, signal.SIGINT)):
        code = interrupt(cmd, out, epoch, part * durations[epoch + 1], sig)
        assert code in (0, -signal.SIGKILL, 128 + signal.SIGINT), code
        assert_loadable(out, killed=True)
        saved = json.loads((out / "checkpoint" / "state.json").read_text())
        seen.append(f"{sig.name} in epoch {epoch + 1} at {part:.2f}: checkpoint of epoch "
                    f"{saved['epoch']}, step {saved['runner']['step']}")
    print("; ".join(seen))  # shown when the test fails
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert_same_result(out, ref)
    if algorithm == "Trainer":
        ours, theirs = (json.loads((d / "results.json").read_text()) for d in (out, ref))
        for key in ("best_epoch", "valid_error", "test_error", "test_loss"):
            assert ours[key] == theirs[key], key


def test_report_counts(capsys):
    """Printed for the Reliability page: faults injected in this run."""
    with capsys.disabled():
        print(f"\n[reliability] faults injected: {COUNTS['kills']} SIGKILLs, "
              f"{COUNTS['signals']} stop signals, 1 NaN loss, 1 unwritable folder, "
              f"1 write error")


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    """Prints, for the Reliability page (``pytest -s``), the faults this module's
    tests injected. (A report, not a test: the tests above assert.)"""
    yield
    print(f"\n[reliability] faults injected: {COUNTS['kills']} SIGKILLs, "
          f"{COUNTS['signals']} stop signals, 1 NaN loss, 1 unwritable folder, "
          f"1 write error")
