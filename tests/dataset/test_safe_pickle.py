"""Tests for nnabla_nas.dataset.safe_pickle: data loads, code does not run."""

import os
import pickle

import numpy as np
import pytest

from nnabla_nas.dataset.safe_pickle import UnsafePickleError, restricted_loads


class Exploit:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("protocol", [2, 4])
def test_plain_data_and_numpy_arrays_load(protocol):
    value = {b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), b"labels": [1, 2, 3],
             b"batch_label": b"x", "n": 3.5}
    loaded = restricted_loads(pickle.dumps(value, protocol=protocol))
    np.testing.assert_array_equal(loaded[b"data"], value[b"data"])
    assert loaded[b"data"].dtype == np.uint8
    assert loaded[b"labels"] == [1, 2, 3] and loaded["n"] == 3.5


def test_code_execution_is_refused(tmp_path):
    target = tmp_path / "pwned"
    payload = pickle.dumps({b"data": Exploit(f"touch {target}")})
    with pytest.raises(UnsafePickleError) as err:
        restricted_loads(payload, source="archive.tar.gz member 'x'")
    assert not target.exists()
    message = str(err.value)
    assert "archive.tar.gz member 'x'" in message and "system" in message
    assert isinstance(err.value, pickle.UnpicklingError)


@pytest.mark.parametrize("obj", [eval, getattr, np.load, pickle.loads])
def test_other_callables_are_refused(obj):
    with pytest.raises(UnsafePickleError, match="refused to load global"):
        restricted_loads(pickle.dumps(obj))
