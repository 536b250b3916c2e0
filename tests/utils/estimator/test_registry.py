import pytest

from nnabla_nas.utils.estimator import (ESTIMATORS, LatencyEstimator, MemoryEstimator,
                                        build_estimators)
from nnabla_nas.utils.registry import ConfigError

PATH = "optimizer.regularizer"


def test_both_estimators_registered_by_class_name():
    assert ESTIMATORS.names() == ["LatencyEstimator", "MemoryEstimator"]
    assert ESTIMATORS.get("LatencyEstimator") is LatencyEstimator
    assert ESTIMATORS.get("MemoryEstimator") is MemoryEstimator


@pytest.mark.parametrize("name", ESTIMATORS.names())
def test_build_from_config(name):
    est = ESTIMATORS.build(name, {"weight": 0.1, "bound": 5}, path=PATH)
    assert type(est).__name__ == name and (est.weight, est.bound) == (0.1, 5.0)


@pytest.mark.parametrize("name, options, message", [
    ("Latency", {}, "optimizer.regularizer: unknown regularizer 'Latency'.*"
                    "valid names: LatencyEstimator, MemoryEstimator"),
    ("LatencyEstimator", {"wieght": 1}, "LatencyEstimator: unknown key 'wieght' "
                                        r"\(did you mean 'weight'\?\)"),
    ("LatencyEstimator", {"bound": "5ms"}, r"LatencyEstimator.bound: expected a number"),
    ("MemoryEstimator", {"unit": 1}, "MemoryEstimator.unit: expected a string"),
])
def test_build_rejects_bad_config(name, options, message):
    with pytest.raises(ConfigError, match=message):
        ESTIMATORS.build(name, options, path=PATH)


def test_build_estimators_section(tmp_path):
    section = {"LatencyEstimator": {"weight": 0.1, "bound": 5.0},
               "MemoryEstimator": {"weight": 0.2, "unit": "KB"}}
    built = build_estimators(section)
    assert list(built) == list(section) and built["MemoryEstimator"].unit == "KB"
    assert build_estimators(None) == {}
    with pytest.raises(ConfigError, match="optimizer.regularizer.MemoryEstimator: "
                                          "unknown memory unit 'GB'"):
        build_estimators({"MemoryEstimator": {"unit": "GB"}})
    missing = str(tmp_path / "none.json")
    with pytest.raises(ConfigError, match="LatencyEstimator: latency table .*none.json"):
        build_estimators({"LatencyEstimator": {"table": missing}})
    with pytest.raises(ConfigError, match="expected an object"):
        build_estimators({"MemoryEstimator": 3})
