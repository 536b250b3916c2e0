"""Property-based: malformed configs always give exit code 2, one line, no output."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnabla_nas.cli import main

GOOD = {
    "dataloader": {"digits": {"train_portion": 0.5}},
    "network": {"darts": {"init_channels": 1, "num_cells": 3, "num_choices": 1,
                          "multiplier": 1, "stem_multiplier": 1}},
    "optimizer": {"train": {"name": "Momentum", "lr": 0.1, "momentum": 0.9},
                  "valid": {"name": "Adam", "lr": 0.001}},
    "hparams": {"epoch": 1, "batch_size_train": 32, "batch_size_valid": 32},
}
COUNT = {"configs": 0}

NUMERIC = [("hparams", "epoch"), ("hparams", "warmup"), ("hparams", "batch_size_train"),
           ("hparams", "batch_size_valid"), ("hparams", "mini_batch_train"),
           ("hparams", "n_iter"), ("network", "darts", "num_cells"),
           ("network", "darts", "init_channels"), ("optimizer", "train", "lr"),
           ("dataloader", "digits", "train_portion")]
SECTIONS = [("dataloader",), ("network",), ("optimizer", "train"), ("hparams",),
            ("network", "darts"), ("dataloader", "digits")]
not_a_number = st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
                         st.booleans(), st.none())


def set_path(cfg, path, value):
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def del_path(cfg, path):
    node = cfg
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


@st.composite
def malformed(draw):
    cfg = copy.deepcopy(GOOD)
    kind = draw(st.sampled_from(["type", "range", "unknown", "missing", "divide", "portion",
                                 "name", "not_object"]))
    if kind == "type":
        set_path(cfg, draw(st.sampled_from(NUMERIC)), draw(not_a_number))
    elif kind == "range":
        path = draw(st.sampled_from(NUMERIC[:7]))
        # 0 is valid for warmup (none) and mini_batch_train (no accumulation).
        zero_ok = path[-1] in ("warmup", "mini_batch_train")
        set_path(cfg, path, draw(st.integers(max_value=-1 if zero_ok else 0,
                                             min_value=-10**6)))
    elif kind == "unknown":
        section = draw(st.sampled_from(SECTIONS))
        node = cfg
        for key in section:
            node = node[key]
        key = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
        if key in node or key in ("num_classes", "in_channels", "mode", "shared", "seed"):
            key += "_typo"
        node[key] = 1
    elif kind == "missing":
        del_path(cfg, draw(st.sampled_from([("dataloader",), ("network",),
                                            ("network", "darts", "num_cells")])))
    elif kind == "divide":
        mini = draw(st.integers(min_value=1, max_value=31).filter(lambda m: 32 % m))
        set_path(cfg, ("hparams", "mini_batch_train"), mini)
    elif kind == "portion":
        value = draw(st.one_of(st.floats(max_value=0.0, allow_nan=False),
                               st.floats(min_value=1.0, allow_nan=False, allow_infinity=False)))
        set_path(cfg, ("dataloader", "digits", "train_portion"), value)
    elif kind == "name":
        path = draw(st.sampled_from([("optimizer", "train", "name"),
                                     ("optimizer", "train", "lr_scheduler")]))
        set_path(cfg, path, draw(st.text(min_size=1, max_size=8)) + "Zz")
    else:
        set_path(cfg, draw(st.sampled_from([("hparams",), ("optimizer",), ("network",)])),
                 draw(st.sampled_from([[1], "x", 3])))
    return kind, cfg


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=malformed())
def test_malformed_configs_exit_2_one_line_no_output(tmp_path_factory, capsys, case):
    kind, cfg = case
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "c.json"
    path.write_text(json.dumps(cfg))
    out = tmp / "out"
    code = main(["-a", "DartsSearcher", "-f", str(path), "-o", str(out), "--check", "-q"])
    captured = capsys.readouterr()
    COUNT["configs"] += 1
    assert code == 2, (kind, cfg, captured.out)
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (kind, captured.err)
    assert not out.exists()


@pytest.fixture(scope="module", autouse=True)
def report_count():
    """Prints, for the Reliability page (``pytest -s``), how many malformed configs
    the fuzz test generated. (A report, not a test: the fuzz test asserts.)"""
    yield
    print(f"\n[reliability] malformed configs generated: {COUNT['configs']}")
