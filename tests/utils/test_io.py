"""Atomic writes and nnabla-format parameter files."""

import os

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.utils.io import (atomic_path, load_h5_parameters, remove_stale_temporaries,
                                 save_h5_parameters, write_text_atomic)


def test_atomic_path_renames_on_success_and_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as tmp:
            assert tmp.endswith(".txt") and os.path.dirname(tmp) == str(tmp_path)
            open(tmp, "w").write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]
    write_text_atomic(str(target), "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["a.txt"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # usual permissions


def test_stale_temporaries_are_removed_and_real_files_kept(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".weights.abc.tmp.h5").write_bytes(b"x")
    (tmp_path / "sub" / ".state.q1.tmp.json").write_bytes(b"x")
    (tmp_path / "weights.h5").write_bytes(b"x")
    assert remove_stale_temporaries(str(tmp_path)) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub", "weights.h5"]


def test_parameter_files_round_trip_and_are_nnabla_files(tmp_path):
    rng = np.random.RandomState(0)
    params = {"a/_W": nn.Variable.from_numpy_array(rng.randn(2, 3).astype(np.float32)),
              "b/_b": nn.Variable.from_numpy_array(rng.randn(4).astype(np.float32))}
    path = str(tmp_path / "p.h5")
    save_h5_parameters(path, params)
    loaded = load_h5_parameters(path)
    assert list(loaded) == list(params)
    for k in params:
        np.testing.assert_array_equal(loaded[k], params[k].d)
    nn.clear_parameters()
    nn.load_parameters(path)
    np.testing.assert_array_equal(nn.get_parameters(grad_only=False)["a/_W"].d,
                                  params["a/_W"].d)
