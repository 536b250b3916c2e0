"""End to end through ``main.py`` in a subprocess, at tiny sizes."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.contrib.classification.darts.ops import CANDIDATES
from nnabla_nas.utils.io import load_h5_parameters

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def tiny_npz(path, n=96, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    x = rng.randint(0, 80, size=(n, 8, 8, 1)).astype(np.uint8)
    for i, label in enumerate(y):  # a learnable pattern: a bright row per class
        x[i, 2 * label + 1, :, 0] = 250
    np.savez(path, x=x, y=y)
    return str(path)


def search_config(data, epochs=2, warmup=1):
    return {
        "dataloader": {"npz": {"path": data, "train_portion": 0.5}},
        "network": {"darts": {"init_channels": 2, "num_cells": 3, "num_choices": 2, "multiplier": 2,
                              "stem_multiplier": 1, "shared": True}},
        "optimizer": {"train": {"name": "Momentum", "lr": 0.05, "momentum": 0.9},
                      "valid": {"name": "Adam", "lr": 0.01, "beta1": 0.5}},
        "hparams": {"epoch": epochs, "warmup": warmup, "batch_size_train": 16,
                    "batch_size_valid": 16, "mini_batch_train": 8, "mini_batch_valid": 16,
                    "seed": 3},
    }


def write(path, config):
    Path(path).write_text(json.dumps(config))
    return str(path)


def main(*args, timeout=600, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=kwargs.get("cwd"))


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One finished tiny search, shared by the tests that read its output."""
    tmp = tmp_path_factory.mktemp("search")
    data = tiny_npz(tmp / "tiny.npz")
    cfg = write(tmp / "search.json", search_config(data))
    out = tmp / "out"
    proc = main("-a", "DartsSearcher", "-f", cfg, "-o", out)
    assert proc.returncode == 0, proc.stderr
    return tmp, out, data, proc


def test_search_writes_every_file(searched):
    _, out, _, proc = searched
    for name in ("config.json", "log.txt", "metrics.csv", "arch.h5", "arch.json", "normal.png",
                 "reduce.png", "weights.h5", "curves.png", "results.json",
                 "checkpoint/state.json"):
        assert (out / name).is_file(), name
    assert list((out / "tensorboard").iterdir()), "no TensorBoard event file"
    assert (out / "normal.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,split,loss,error")
    # warmup epoch: train only; search epochs: train and valid.
    assert [r.split(",")[:2] for r in rows[1:]] == [["1", "train"], ["2", "train"],
                                                   ["2", "valid"], ["3", "train"],
                                                   ["3", "valid"]]
    genotype = json.loads((out / "arch.json").read_text())
    assert len(genotype["normal"]) == 2 and len(genotype["reduce"]) == 2
    for cell in genotype["normal"] + genotype["reduce"]:
        assert len(cell) == 2 and all(edge["op"] != "none" for edge in cell)
    resolved = json.loads((out / "config.json").read_text())
    assert resolved["network"]["darts"]["in_channels"] == 1
    assert resolved["hparams"]["input_shapes"] == [[1, 8, 8]]
    assert "arch.json" in proc.stdout
    arch = load_h5_parameters(str(out / "arch.h5"))
    assert len(arch) == 10  # shared: 5 edges per cell type, 2 cell types


def test_rerun_on_finished_search_says_so(searched):
    tmp, out, _, _ = searched
    proc = main("-a", "DartsSearcher", "-f", tmp / "search.json", "-o", out)
    assert proc.returncode == 0
    assert "finished already" in proc.stdout
    assert len((out / "metrics.csv").read_text().splitlines()) == 6


def test_rerun_completes_final_files_of_a_search_killed_after_its_last_checkpoint(
        searched, tmp_path):
    """A kill between the last epoch's checkpoint and weights.h5/results.json: the
    rerun finds the search finished and writes them, with the final weights."""
    import shutil
    tmp, out, _, _ = searched
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "weights.h5").unlink()
    (copy / "results.json").unlink()
    proc = main("-a", "DartsSearcher", "-f", tmp / "search.json", "-o", copy)
    assert proc.returncode == 0, proc.stderr
    assert "finished already" in proc.stdout
    assert json.loads((copy / "results.json").read_text())["epochs"] == 3
    ours, theirs = (load_h5_parameters(str(d / "weights.h5")) for d in (copy, out))
    assert list(ours) == list(theirs) and len(ours) > 10
    for key in theirs:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def test_retrain_from_arch_json(searched, tmp_path):
    _, out, data, _ = searched
    cfg = {"dataloader": {"npz": {"path": data, "valid_portion": 0.2}},
           "network": {"darts": {"init_channels": 4, "num_cells": 3, "num_choices": 2, "multiplier": 2,
                                 "stem_multiplier": 1, "genotype": str(out / "arch.json"),
                                 "auxiliary": True, "drop_path": 0.2}},
           "hparams": {"epoch": 2, "batch_size_train": 16, "batch_size_valid": 16,
                       "loss_weights": [1.0, 0.4]}}
    proc = main("-a", "Trainer", "-f", write(tmp_path / "train.json", cfg), "-o", tmp_path / "t")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "t" / "results.json").read_text())
    assert 0 <= results["test_error"] <= 1 and results["best_epoch"] in (1, 2)
    assert "test accuracy" in proc.stdout
    assert (tmp_path / "t" / "weights.h5").is_file()


def test_killed_search_resumes_to_the_same_genotype(searched, tmp_path):
    _, reference, data, _ = searched
    cfg = write(tmp_path / "search.json", search_config(data))
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "main.py"), "-a", "DartsSearcher", "-f", cfg, "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + 300
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # now inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(state.read_text())["epoch"] < 3, "the run finished before the kill"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stdout
    assert json.loads((out / "arch.json").read_text()) == \
        json.loads((reference / "arch.json").read_text())
    ours, ref = load_h5_parameters(str(out / "arch.h5")), load_h5_parameters(str(reference / "arch.h5"))
    for key in ref:
        np.testing.assert_array_equal(ours[key], ref[key], err_msg=key)  # bit-identical
    assert (out / "metrics.csv").read_text().count("\n") == 6
    assert "epoch 1/3" in (out / "log.txt").read_text()


def test_check_prints_summary_and_writes_nothing(searched, tmp_path):
    tmp, _, _, _ = searched
    proc = main("-a", "DartsSearcher", "-f", tmp / "search.json", "-o", tmp_path / "x", "--check")
    assert proc.returncode == 0, proc.stderr
    assert "config OK" in proc.stdout and "choice points" in proc.stdout
    assert "steps per epoch" in proc.stdout
    assert not (tmp_path / "x").exists()


def test_cudnn_without_extension_is_one_line(searched, tmp_path):
    tmp, _, _, _ = searched
    proc = main("-c", "cudnn", "-a", "DartsSearcher", "-f", tmp / "search.json",
                "-o", tmp_path / "x")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if "[nnabla]" not in line]
    assert len(lines) == 1 and "pip install nnabla-ext-cuda120" in lines[0], proc.stderr
    assert not (tmp_path / "x").exists()


def test_module_entry_point_and_console_script_are_the_same(searched, tmp_path):
    tmp, _, _, _ = searched
    args = ["-a", "DartsSearcher", "-f", str(tmp / "search.json"), "--check"]
    outputs = [subprocess.run([sys.executable, "-m", "nnabla_nas", *args], capture_output=True,
                              text=True, cwd=ROOT).stdout,
               main(*args).stdout]
    script = Path(sys.executable).with_name("nnabla-nas")
    if script.exists():
        outputs.append(subprocess.run([str(script), *args], capture_output=True, text=True).stdout)
    assert len(outputs) == 3, "the nnabla-nas console script is not installed"
    assert outputs[0] == outputs[1] == outputs[2] and "config OK" in outputs[0]


def pnas_config(data):
    cfg = search_config(data)
    cfg["network"] = {"pnas": cfg["network"]["darts"]}
    del cfg["network"]["pnas"]["shared"]
    cfg["optimizer"]["regularizer"] = {"MemoryEstimator": {"weight": 0.5, "bound": 0.01}}
    cfg["hparams"].update(n_iter=3, baseline_decay=0.9)
    return cfg


def test_pnas_search_resume_and_retrain(searched, tmp_path):
    """With shared kernels (the default, separate ones, is killed and resumed
    in tests/test_faults.py)."""
    tmp, _, data, _ = searched
    config = pnas_config(data)
    config["network"]["pnas"]["share_kernels"] = True
    cfg = write(tmp_path / "pnas.json", config)
    reference = tmp_path / "ref"
    proc = main("-a", "ProxylessNasSearcher", "-f", cfg, "-o", reference)
    assert proc.returncode == 0, proc.stderr
    assert "MemoryEstimator=" in proc.stdout
    assert "MemoryEstimator=" in (reference / "metrics.csv").read_text()
    for name in ("arch.h5", "arch.json", "normal.png", "weights.h5", "checkpoint/state.json"):
        assert (reference / name).is_file(), name

    # Kill inside epoch 2, rerun: the same alphas as the uninterrupted run.
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "main.py"), "-a", "ProxylessNasSearcher", "-f", cfg,
           "-o", str(out)]
    run = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "checkpoint" / "state.json"
    while not state.exists() and run.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert json.loads(state.read_text())["epoch"] < 3
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    ours, ref = load_h5_parameters(str(out / "arch.h5")), load_h5_parameters(str(reference / "arch.h5"))
    assert list(ours) == list(ref) and len(ref) == 15  # unshared: 3 cells x 5 edges
    for key in ref:
        np.testing.assert_array_equal(ours[key], ref[key], err_msg=key)  # bit-identical
    ours, ref = (load_h5_parameters(str(d / "weights.h5")) for d in (out, reference))
    assert list(ours) == list(ref)
    for key in ref:
        np.testing.assert_array_equal(ours[key], ref[key], err_msg=key)
    sep3 = f"/_ops/{CANDIDATES.index('sep_conv_3x3')}/"
    assert not [k for k in ref if sep3 in k and k.endswith("_W")]  # the 5x5 ones hold them

    train = {"dataloader": {"npz": {"path": data}},
             "network": {"pnas": {"init_channels": 4, "num_cells": 3, "num_choices": 2,
                                  "multiplier": 2, "stem_multiplier": 1,
                                  "genotype": str(reference / "arch.h5")}},
             "hparams": {"epoch": 1, "batch_size_train": 16, "batch_size_valid": 16}}
    proc = main("-a", "Trainer", "-f", write(tmp_path / "train.json", train), "-o", tmp_path / "t")
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout


def test_mobilenet_search_and_retrain(searched, tmp_path):
    _, _, data, _ = searched
    net = {"settings": [[8, 1, 1], [16, 2, 2]], "width_mult": 0.5, "stem_stride": 1}
    cfg = {"dataloader": {"npz": {"path": data}},
           "network": {"mobilenet": {**net, "share_kernels": True}},  # (as the examples)
           "optimizer": {"regularizer": {"MemoryEstimator": {"weight": 0.1, "bound": 0.01}}},
           "hparams": {"epoch": 1, "warmup": 1, "batch_size_train": 16, "batch_size_valid": 16,
                       "n_iter": 2}}
    out = tmp_path / "search"
    proc = main("-a", "ProxylessNasSearcher", "-f", write(tmp_path / "s.json", cfg), "-o", out)
    assert proc.returncode == 0, proc.stderr
    blocks = json.loads((out / "arch.json").read_text())
    assert len(blocks) == 3 and (out / "arch.png").is_file()
    train = {"dataloader": {"npz": {"path": data}},
             "network": {"mobilenet": {**net, "genotype": str(out / "arch.h5")}},
             "hparams": {"epoch": 1, "batch_size_train": 16, "batch_size_valid": 16}}
    proc = main("-a", "Trainer", "-f", write(tmp_path / "t.json", train), "-o", tmp_path / "t")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "t" / "results.json").read_text())["epochs"] == 1
