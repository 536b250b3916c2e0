import json

import pytest

from nnabla_nas import module as Mo
from nnabla_nas.utils.estimator import LatencyEstimator
from nnabla_nas.utils.estimator.table import layer_key, load_table, save_table

KEY = ("cpu:float", "ReLU", "inplace=False", ((2, 3),))
GOOD = {"context": "cpu:float", "layer": "ReLU", "args": "inplace=False",
        "input_shapes": [[2, 3]], "latency": 0.5}


def test_save_and_load(tmp_path):
    path = str(tmp_path / "t.json")
    save_table(path, {KEY: 0.002}, unit="ms")
    data = json.loads(open(path).read())
    assert data == {"format": "nnabla_nas.latency_table", "version": 1, "unit": "ms",
                    "entries": [dict(GOOD, latency=pytest.approx(2.0))]}
    assert load_table(path) == {KEY: pytest.approx(0.002)}
    assert not [p for p in tmp_path.iterdir() if p.name != "t.json"]  # no temp files


def test_layer_key():
    relu = Mo.ReLU()
    relu(Mo.Parameter((2, 3)))
    assert layer_key(relu, "cpu:float") == KEY


@pytest.mark.parametrize("text, message", [
    ("{not json", "not readable JSON"),
    ("[]", "expected an object with an 'entries' list"),
    (json.dumps({"unit": "ms"}), "'entries' list"),
    (json.dumps({"unit": "hours", "entries": []}), "'unit' must be one of s, ms, us"),
    (json.dumps({"format": "other", "unit": "ms", "entries": []}), "unsupported format"),
    (json.dumps({"unit": "ms", "entries": [3]}), "entry 0: expected an object"),
    (json.dumps({"unit": "ms", "entries": [{"layer": "ReLU"}]}),
     "entry 0: missing 'context', 'args', 'input_shapes', 'latency'"),
    (json.dumps({"unit": "ms", "entries": [GOOD, dict(GOOD, latency=-1)]}),
     "entry 1: 'latency' must be a finite number >= 0"),
    (json.dumps({"unit": "ms", "entries": [dict(GOOD, input_shapes=[2, 3])]}),
     "entry 0: 'input_shapes' must be a list of integer lists"),
    (json.dumps({"unit": "ms", "entries": [dict(GOOD, layer=None)]}),
     "entry 0: 'layer' must be a string"),
])
def test_malformed_table_names_the_file(tmp_path, text, message):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"latency table '.*broken.json' is malformed: .*"
                       + message):
        LatencyEstimator(table=str(path))


def test_missing_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="latency table '.*nowhere.json' does not exist"):
        LatencyEstimator().load_table(str(tmp_path / "nowhere.json"))


def test_save_in_unknown_unit(tmp_path):
    with pytest.raises(ValueError, match="unknown latency unit"):
        save_table(str(tmp_path / "t.json"), {}, unit="h")
