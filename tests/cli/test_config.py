"""Every bad config gives one line naming the key path and what would be right."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnabla_nas.cli.build import build_run
from nnabla_nas.cli.config import read_config_file, validate_config
from nnabla_nas.runner.hparams import Hparams
from nnabla_nas.utils.registry import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "dataloader": {"digits": {"train_portion": 0.5}},
    "network": {"darts": {"init_channels": 2, "num_cells": 3}},
    "optimizer": {"train": {"name": "Momentum", "lr": 0.1, "momentum": 0.9},
                  "valid": {"name": "Adam", "lr": 0.001}},
    "hparams": {"epoch": 1, "batch_size_train": 32, "batch_size_valid": 32},
}


def bad(path, value=None, delete=False):
    cfg = copy.deepcopy(GOOD)
    node = cfg
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


CASES = [
    (bad(["hparms"], {}), r"config: unknown section 'hparms' \(did you mean 'hparams'\?\)"),
    (bad(["network"], delete=True), r"missing required section 'network'"),
    (bad(["dataloader"], {"cifar100": {}}),
     r"dataloader: unknown dataset 'cifar100' \(did you mean 'cifar10'\?\); valid names: .*digits"),
    (bad(["dataloader"], {"digits": {}, "npz": {}}), r"dataloader: expected one dataset name"),
    (bad(["dataloader", "digits", "train_portoin"], 0.5),
     r"dataloader.digits: unknown key 'train_portoin' \(did you mean 'train_portion'\?\)"),
    (bad(["dataloader", "digits", "train_portion"], "half"),
     r"dataloader.digits.train_portion: expected a number, got 'half'"),
    (bad(["dataloader", "digits", "train_portion"], 1.5), r"dataloader.digits.train_portion: expected a number strictly between 0 and 1"),
    (bad(["network"], {"dart": {}}), r"network: unknown network 'dart' \(did you mean 'darts'\?\)"),
    (bad(["network", "darts", "init_channel"], 4),
     r"network.darts: unknown key 'init_channel' \(did you mean 'init_channels'\?\)"),
    (bad(["network", "darts", "num_cells"], delete=True),
     r"network.darts: missing required key 'num_cells'"),
    (bad(["network", "darts", "num_cells"], 2.5), r"network.darts.num_cells: expected an integer"),
    (bad(["network", "darts", "shared"], "yes"), r"network.darts.shared: expected a boolean"),
    (bad(["network", "darts", "in_channels"], 0), r"network.darts.in_channels: expected a positive"),
    (bad(["optimizer", "train", "name"], "Sgdd"),
     r"optimizer.train.name: unknown solver 'Sgdd' \(did you mean 'Sgd'\?\); valid names:"),
    (bad(["optimizer", "train", "lr_scheduler"], "Cosine"),
     r"optimizer.train.lr_scheduler: unknown lr_scheduler 'Cosine'.*CosineScheduler"),
    (bad(["optimizer", "train", "momentun"], 0.9),
     r"optimizer.train: unknown key 'momentun' \(did you mean 'momentum'\?\)"),
    (bad(["optimizer", "valdi"], {}), r"optimizer: unknown section 'valdi' \(did you mean 'valid'\?\)"),
    (bad(["optimizer", "regularizer"], {"LatencyEstimator": {"weight": 0.1}}),
     r"optimizer.regularizer: .*ProxylessNasSearcher"),
    (bad(["hparams", "epochs"], 3), r"hparams: unknown key 'epochs' \(did you mean 'epoch'\?\)"),
    (bad(["hparams", "epoch"], -1), r"hparams.epoch: must be at least 1, got -1"),
    (bad(["hparams", "epoch"], "10"), r"hparams.epoch: expected an integer, got '10'"),
    (bad(["hparams", "warmup"], -2), r"hparams.warmup: must be 0 or more"),
    (bad(["hparams", "mini_batch_train"], 24),
     r"hparams.mini_batch_train: 24 does not divide batch_size_train \(32\)"),
    (bad(["hparams", "loss_weights"], ["a"]), r"hparams.loss_weights: expected a list of numbers"),
    (bad(["hparams", "input_shapes"], [3, 32, 32]), r"hparams.input_shapes: expected a list of shapes"),
    (bad(["hparams"], [1, 2]), r"hparams: expected an object"),
    (bad(["hparams", "n_iter"], 3),
     r"hparams.n_iter: used by ProxylessNasSearcher only, not by DartsSearcher; remove it"),
    # PC-DARTS (init_channels 2, 3 cells: nodes of 2, 4 and 8 channels)
    (bad(["network", "darts", "partial_channels"], 4),
     r"^network.darts: partial_channels must be one of 1, 2 \(a divisor of the nodes' channels "
     r"2, 4, 8 with init_channels=2, num_cells=3\), got 4$"),
    (bad(["network", "darts", "partial_channels"], 0),
     r"^network.darts: partial_channels must be one of 1, 2 .*got 0$"),
    (bad(["network", "darts", "partial_channels"], "2"),
     r"^network.darts.partial_channels: expected an integer, got '2'$"),
    (bad(["network", "darts", "partial_channels"], 1.5),
     r"^network.darts.partial_channels: expected an integer, got 1.5$"),
    (bad(["network", "darts", "edge_normalization"], 1),
     r"^network.darts.edge_normalization: expected a boolean, got 1$"),
    (bad(["hparams", "beta_decay"], -0.1),
     r"hparams.beta_decay: must be a number of at least 0 \(0 is off\), got -0.1"),
    (bad(["hparams", "second_order"], "yes"), r"hparams.second_order: expected a boolean"),
]


@pytest.mark.parametrize("key, value, message", [
    ("gradient_estimator", "gates",
     r"hparams.gradient_estimator: unknown estimator 'gates'; valid: reinforce, binary_gates"),
    ("n_iter", 0, r"hparams.n_iter: must be an integer of at least 1, got 0"),
    ("baseline_decay", 1.0, r"hparams.baseline_decay: must be in \[0, 1\), got 1.0"),
    ("reward", "acc", r"hparams.reward: unknown reward 'acc'; valid: accuracy, loss"),
    ("train_paths", 1.5, r"hparams.train_paths: expected an integer, got 1.5"),
    ("second_order", True,
     r"hparams.second_order: used by DartsSearcher only, not by ProxylessNasSearcher"),
    ("beta_decay", 0.5,
     r"hparams.beta_decay: used by DartsSearcher only, not by ProxylessNasSearcher"),
])
def test_searcher_options_are_checked_before_anything_runs(key, value, message):
    cfg = bad(["hparams", key], value)
    cfg["network"] = {"pnas": {"init_channels": 2, "num_cells": 3}}
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg, "ProxylessNasSearcher")


@pytest.mark.parametrize("config,message", CASES, ids=[m[:40] for _, m in CASES])
def test_bad_config_message(config, message):
    with pytest.raises(ConfigError, match=message) as err:
        # What the CLI does before anything runs: validate, then build (no files written).
        build_run(validate_config(config, "DartsSearcher"))
    assert "\n" not in str(err.value)


def test_good_config_passes():
    run = validate_config(copy.deepcopy(GOOD), "DartsSearcher")
    assert run.dataset == "digits" and run.network == "darts"
    assert run.hparams.mini_batch_train == 32
    assert run.options == {"second_order": False, "beta_decay": 0.0}  # DARTS' variants: off


def test_darts_variants_reach_the_searcher():
    cfg = bad(["hparams", "second_order"], True)
    cfg["hparams"]["beta_decay"] = 1
    runner = build_run(validate_config(cfg, "DartsSearcher")).runner
    assert runner.second_order is True and runner.beta_decay == 1.0


def test_unknown_algorithm():
    with pytest.raises(ConfigError, match=r"unknown algorithm 'Darts'.*DartsSearcher"):
        validate_config(copy.deepcopy(GOOD), "Darts")


def test_trainer_needs_existing_genotype(tmp_path):
    cfg = bad(["network", "darts", "genotype"], str(tmp_path / "nope.json"))
    with pytest.raises(ConfigError, match=r"network.darts.genotype: file '.*nope.json' does not exist"):
        validate_config(cfg, "Trainer")
    with pytest.raises(ConfigError, match=r"network.darts: missing required key 'genotype'"):
        validate_config(copy.deepcopy(GOOD), "Trainer")


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(str(tmp_path / "x.json"))
    (tmp_path / "b.json").write_text('{"hparams": {"epoch": 1,}}')
    with pytest.raises(ConfigError, match=r"not valid JSON at line 1, column 25"):
        read_config_file(str(tmp_path / "b.json"))
    (tmp_path / "b.yaml").write_text("hparams: [1, 2\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line"):
        read_config_file(str(tmp_path / "b.yaml"))


def test_yaml_is_data_only(tmp_path):
    """A YAML tag that would run code under yaml.load is refused by safe_load."""
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(
        f"hparams: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_config_file(str(tmp_path / "evil.yaml"))
    assert not marker.exists()


def test_yaml_config_equals_json(tmp_path):
    import yaml
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(GOOD))
    assert read_config_file(str(tmp_path / "c.yaml")) == GOOD


def test_hparams_built_in_python_are_validated():
    with pytest.raises(ConfigError, match="hparams.mini_batch_valid: 5 does not divide"):
        Hparams(batch_size_valid=32, mini_batch_valid=5)
    with pytest.raises(ConfigError, match="hparams.epoch: expected an integer"):
        Hparams(epoch=1.5)
    assert Hparams(batch_size_train=8).mini_batch_train == 8


@pytest.mark.parametrize("config,message", [CASES[0], CASES[13], CASES[22]],
                         ids=["section", "solver", "mini_batch"])
def test_cli_exit_code_2_one_line_no_output(tmp_path, config, message):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(config))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "-a", "DartsSearcher",
                           "-f", str(cfg), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if "[nnabla]" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_cli_usage_errors_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "-a", "Foo", "-f", "x.json",
                           "-o", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice: 'Foo'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_empty_candidate_list_is_refused(tmp_path):
    cfg = {"dataloader": {"digits": {}},
           "network": {"mobilenet": {"candidates": [], "settings": [[8, 1, 1]],
                                     "stem_stride": 1, "width_mult": 0.25}},
           "hparams": {"epoch": 1}}
    with pytest.raises(ConfigError, match=r"network.mobilenet: .*candidates"):
        build_run(validate_config(cfg, "ProxylessNasSearcher"))


def test_regularizer_names_are_checked_for_pnas():
    cfg = copy.deepcopy(GOOD)
    cfg["network"] = {"pnas": cfg["network"]["darts"]}
    cfg["optimizer"]["regularizer"] = {"LatencyEstimater": {"weight": 0.1}}
    with pytest.raises(ConfigError, match=r"optimizer.regularizer: unknown regularizer "
                                          r"'LatencyEstimater' \(did you mean 'LatencyEstimator'"):
        validate_config(cfg, "ProxylessNasSearcher")
    cfg["optimizer"]["regularizer"] = {"MemoryEstimator": {"wieght": 0.1}}
    with pytest.raises(ConfigError, match=r"MemoryEstimator: unknown key 'wieght'"):
        validate_config(cfg, "ProxylessNasSearcher")


def test_pc_darts_options_are_refused_in_sample_mode():
    """ProxylessNAS samples one operation per edge: the PC-DARTS keys are
    refused, naming the key (darts space in sample mode; the pnas space does
    not take them)."""
    for key, value in (("partial_channels", 2), ("edge_normalization", True)):
        cfg = bad(["network", "darts", key], value)
        with pytest.raises(ConfigError, match=rf"^network.darts: {key} is a DARTS \(full mode\) "
                                              rf"option, not for mode='sample'") as err:
            build_run(validate_config(cfg, "ProxylessNasSearcher"))
        assert "\n" not in str(err.value)
        cfg["network"] = {"pnas": cfg["network"]["darts"]}
        with pytest.raises(ConfigError, match=rf"^network.pnas: unknown key '{key}'"):
            validate_config(cfg, "ProxylessNasSearcher")


@pytest.mark.parametrize("path", ["examples/quickstart/digits_search_pc_darts.json",
                                  "examples/classification/darts/cifar10_search_pc_darts.json"])
def test_pc_darts_example_configs_are_valid(path):
    run = validate_config(str(ROOT / path), "DartsSearcher")
    assert run.network_options["partial_channels"] > 1
    assert run.network_options["edge_normalization"] is True


SEARCH_EXAMPLES = sorted((ROOT / "examples").rglob("*search*.json"))


@pytest.mark.parametrize("path", SEARCH_EXAMPLES,
                         ids=[str(p.relative_to(ROOT / "examples")) for p in SEARCH_EXAMPLES])
def test_every_search_example_is_valid(path):
    """Each example search config (the DARTS variants' too) validates for the
    algorithm examples/jobs.sh and the docs run it with."""
    sampled = "pnas" in str(path.relative_to(ROOT)) or "mobilenet" in path.parts
    run = validate_config(str(path), "ProxylessNasSearcher" if sampled else "DartsSearcher")
    if path.stem.endswith("_second_order"):
        assert run.options["second_order"] is True
    if path.stem.endswith("_beta_decay"):
        assert run.options["beta_decay"] > 0


def test_darts_variant_examples_differ_from_their_base_in_one_key():
    variants = [p for p in SEARCH_EXAMPLES if p.stem.endswith(("_second_order", "_beta_decay"))]
    assert len(variants) == 4
    for path in variants:
        base = path.with_name(path.name.replace("_second_order", "").replace("_beta_decay", ""))
        ours, theirs = (json.loads(p.read_text()) for p in (path, base))
        extra = {k: v for k, v in ours["hparams"].items() if k not in theirs["hparams"]}
        assert len(extra) == 1 and {**theirs["hparams"], **extra} == ours["hparams"], path
        assert {k: v for k, v in ours.items() if k != "hparams"} == \
            {k: v for k, v in theirs.items() if k != "hparams"}, path
