"""The import graph points down only: cli -> {runner, export} -> {contrib, dataset,
optimizer} -> module -> utils, with no cycle between packages (docs/architecture.rst)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nnabla_nas"
#: Package -> level; a package may import only packages of a lower level.
LEVELS = {"utils": 0, "module": 1, "optimizer": 2, "dataset": 2, "contrib": 2, "parallel": 2,
          "runner": 3, "export": 3, "cli": 4}


def imports():
    """``(importing package, imported package, file:line)`` for every import of
    ours, including those inside functions."""
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        package = list(parts[:-1]) if parts[-1] != "__init__" else list(parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - node.level + 1]
                    names = [".".join(base + ([node.module] if node.module else []))]
                    if node.module is None:
                        names = [f"{names[0]}.{a.name}" for a in node.names]
                else:
                    names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                target = name.split(".")
                if target[0] == "nnabla_nas" and len(target) > 1 and len(parts) > 2:
                    yield parts[1], target[1], f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"


def test_every_package_has_a_level():
    top = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert top == set(LEVELS)


def test_imports_point_down_only():
    found = list(imports())
    assert {("cli", "runner"), ("runner", "module"), ("module", "utils")} <= \
        {(a, b) for a, b, _ in found}  # the walk sees imports, in functions too
    upward = [f"{where}: {a} -> {b}" for a, b, where in found
              if a != b and b in LEVELS and LEVELS[b] >= LEVELS[a]]
    assert not upward, "\n".join(upward)
