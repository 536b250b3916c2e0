"""``nnabla-nas export RUN_DIR``: run folders written by main.py to ONNX and NNP,
the Trainer's ``model.nnp``, and one-line errors that write nothing."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.cli import main as cli_main
from nnabla_nas.dataset.transforms import normalize
from nnabla_nas.export import run_file
from nnabla_nas.export.graph import build_inference_graph
from nnabla_nas.export.run_folder import load_run_network

from contrib.classification.darts.conftest import DARTS_V2  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
pytest.importorskip("onnxruntime")


def main_py(*args, code=None):
    """main.py in a subprocess (``code``: Python run first, in the same process)."""
    cmd = [sys.executable, str(ROOT / "main.py"), *map(str, args)]
    if code:
        cmd = [sys.executable, "-c", f"{code}; import sys, runpy; sys.argv = {cmd[1:]!r}; "
               f"runpy.run_path({str(ROOT / 'main.py')!r}, run_name='__main__')"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny DARTS search and a tiny training run, both through main.py."""
    tmp = tmp_path_factory.mktemp("runs")
    rng = np.random.RandomState(0)
    y = np.arange(96) % 3
    x = rng.randint(0, 80, size=(96, 8, 8, 1)).astype(np.uint8)
    for i, label in enumerate(y):
        x[i, 2 * label + 1, :, 0] = 250
    np.savez(tmp / "tiny.npz", x=x, y=y)
    (tmp / "arch.json").write_text(json.dumps(DARTS_V2))
    net = {"init_channels": 2, "num_cells": 3, "stem_multiplier": 1}
    hparams = {"epoch": 1, "batch_size_train": 16, "batch_size_valid": 16}
    configs = {
        "search": ("DartsSearcher", {"dataloader": {"npz": {"path": str(tmp / "tiny.npz")}},
                                     "network": {"darts": {**net, "num_choices": 2,
                                                           "multiplier": 2}},
                                     "hparams": {**hparams, "warmup": 0}}),
        "train": ("Trainer", {"dataloader": {"npz": {"path": str(tmp / "tiny.npz")}},
                              "network": {"darts": {**net, "genotype": str(tmp / "arch.json"),
                                                    "auxiliary": True, "drop_path": 0.2}},
                              "hparams": {**hparams, "loss_weights": [1.0, 0.4]}}),
    }
    for name, (algorithm, config) in configs.items():
        (tmp / f"{name}.json").write_text(json.dumps(config))
        proc = main_py("-a", algorithm, "-f", tmp / f"{name}.json", "-o", tmp / name)
        assert proc.returncode == 0, proc.stderr
    return tmp


def test_trainer_writes_model_nnp_with_weights_and_normalization(runs):
    from nnabla_nas.dataset import build_dataset
    data = build_dataset({"npz": {"path": str(runs / "tiny.npz")}})
    raw = data.test_x[:8]
    run = load_run_network(str(runs / "train"))
    graph = build_inference_graph(run.model, run.input_shape, 8)
    graph.x.d = normalize(raw, data.mean, data.std)
    graph.y.forward()
    pixels = raw.transpose(0, 3, 1, 2).astype(np.float32)
    got = run_file(str(runs / "train" / "model.nnp"), pixels)
    np.testing.assert_allclose(got, graph.y.d, atol=1e-5)


def test_export_a_training_run_and_evaluate_in_onnx_runtime(runs):
    proc = main_py("export", runs / "train", "--batch-size", "8", "--evaluate")
    assert proc.returncode == 0, proc.stderr
    assert (runs / "train" / "model.onnx").is_file()
    line = next(s for s in proc.stdout.splitlines() if s.startswith("test accuracy"))
    nnabla, ort = (float(s.split("%")[0].split()[-1]) for s in line.split(",")[:2])
    assert nnabla == ort and line.endswith("(0 predictions differ)")


def test_export_the_argmax_network_of_a_search(runs, tmp_path, capsys):
    out = tmp_path / "search.nnp"
    assert cli_main(["export", str(runs / "search"), "-o", str(out), "-b", "2"]) == 0
    assert "argmax network of the search" in capsys.readouterr().out
    run = load_run_network(str(runs / "search"))
    x = np.random.RandomState(0).uniform(0, 255, (4, 1, 8, 8))
    graph = build_inference_graph(run.model, (1, 8, 8), 4, normalization=_stats(runs))
    graph.x.d = x
    graph.y.forward()
    np.testing.assert_allclose(run_file(str(out), x), graph.y.d, atol=1e-5)


def _stats(runs):
    from nnabla_nas.dataset import build_dataset
    data = build_dataset({"npz": {"path": str(runs / "tiny.npz")}})
    return data.mean, data.std


def _broken(runs, tmp_path, name, edit):
    folder = tmp_path / name
    shutil.copytree(runs / ("search" if name == "badarch" else "train"), folder)
    edit(folder)
    return folder


@pytest.mark.parametrize("case, message", [
    ("noweights", "has no weights.h5"),
    ("badarch", "do not fit the network of its config.json"),
    ("format", "unknown export format 'tflite'; valid formats: onnx, nnp"),
    ("unwritable", "cannot write"),
    ("notrun", "has no config.json: it is not a run folder"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(runs, tmp_path, capsys, case, message):
    edits = {
        "noweights": lambda f: (f / "weights.h5").unlink(),
        "badarch": lambda f: (f / "config.json").write_text(
            (f / "config.json").read_text().replace('"num_cells": 3', '"num_cells": 4')),
        "format": lambda f: None, "unwritable": lambda f: None,
        "notrun": lambda f: (f / "config.json").unlink(),
    }
    folder = _broken(runs, tmp_path, case, edits[case])
    extra = {"format": ["--format", "tflite"],
             "unwritable": ["-o", str(folder / "config.json" / "net.onnx")]}.get(case, [])
    before = sorted(p.name for p in folder.iterdir())
    assert cli_main(["export", str(folder), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_missing_optional_dependency_names_the_install_line(runs, tmp_path):
    proc = main_py("export", runs / "train", "-o", tmp_path / "net.onnx",
                   code="import sys; sys.modules['onnxruntime'] = None")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "'onnxruntime'" in proc.stderr and "pip install --no-deps nnabla-converter" \
        in proc.stderr
    assert list(tmp_path.iterdir()) == []
