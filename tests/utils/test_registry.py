"""`Registry` and the config checks built on signatures."""

import pytest

from nnabla_nas.utils.registry import ConfigError, Registry, check_kwargs, check_type, suggest


def make(a: int, b: float = 0.5, label: str = "x", flag: bool = False):
    return (a, b, label, flag)


def test_decorator_and_explicit_items_fill_the_same_registry():
    reg = Registry("thing", {"make": make})

    @reg.register()
    def other():
        return "other"

    @reg.register("third")
    def _():
        return 3

    assert reg.names() == ["make", "other", "third"]
    assert "other" in reg and "nope" not in reg
    assert reg.get("third")() == 3


def test_unknown_names_list_the_valid_ones_with_a_suggestion():
    reg = Registry("solver", {"Momentum": make, "Adam": make})
    with pytest.raises(ConfigError, match=r"^optimizer.name: unknown solver 'Momentun' "
                                          r"\(did you mean 'Momentum'\?\); valid names: "
                                          r"Adam, Momentum$"):
        reg.get("Momentun", "optimizer.name")
    assert suggest("zzz", ["Adam"]) == ""


def test_a_name_registers_once():
    reg = Registry("thing", {"make": make})
    with pytest.raises(KeyError, match="already registered"):
        reg.register("make")(make)


def test_build_checks_options_then_calls():
    reg = Registry("thing", {"make": make})
    assert reg.build("make", {"a": 2}, path="section", label="y") == (2, 0.5, "y", False)
    with pytest.raises(ConfigError, match=r"section.make: .label. is set by the program"):
        reg.build("make", {"a": 2, "label": "z"}, path="section", label="y")
    with pytest.raises(ConfigError, match=r"section.make: missing required key 'a'"):
        reg.build("make", {}, path="section")
    with pytest.raises(ConfigError, match=r"section.make: unknown key 'bb' \(did you mean 'b'"):
        reg.build("make", {"a": 1, "bb": 2}, path="section")


@pytest.mark.parametrize("value, default, ok", [
    (1, 0, True), (1.0, 0, True), (1.5, 0, False), (True, 0, False),
    (1, 0.5, True), ("1", 0.5, False), (True, False, True), (1, False, False),
    ("a", "x", True), ([1], [], True), ((1,), [], True), ({}, {}, True), (None, None, True),
])
def test_check_type_follows_the_default(value, default, ok):
    if ok:
        check_type("k", value, default)
    else:
        with pytest.raises(ConfigError, match="^k: expected "):
            check_type("k", value, default)


def test_check_kwargs_excludes_program_supplied_keys():
    check_kwargs(make, {}, "p", exclude=("a",))
