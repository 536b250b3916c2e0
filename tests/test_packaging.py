"""The project builds with the standard tools (PEP 517) into a wheel that carries
every subpackage and the right metadata, and that installs and imports."""

import glob
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A new virtual environment with the stock pip, and the wheel its pip built
    from the source tree (isolated build: the build back end comes from
    pyproject.toml, not from this environment)."""
    folder = tmp_path_factory.mktemp("fresh")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder),
                    str(ROOT)], check=True, capture_output=True, cwd=folder)
    wheel, = glob.glob(str(folder / "nnabla_nas-*.whl"))
    return python, wheel


@pytest.mark.slow
def test_wheel_contents(fresh):
    _, wheel = fresh
    names = zipfile.ZipFile(wheel).namelist()
    packages = {str(p.parent.relative_to(ROOT)) for p in ROOT.glob("nnabla_nas/**/__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    assert "nnabla_nas/cli/nnabla.conf" in names
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Python: >=3.8,<3.11" in metadata or "Requires-Python: <3.11,>=3.8" in metadata
    assert "Requires-Dist: nnabla" in metadata
    assert "License: Apache-2.0" in metadata
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "nnabla-nas = nnabla_nas.cli:run" in entry


@pytest.mark.slow
def test_wheel_installs_and_imports(fresh, tmp_path):
    python, wheel = fresh
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", wheel], check=True,
                   capture_output=True)
    # The dependencies come from this environment; the package from the wheel.
    env = dict(os.environ, PYTHONPATH=sysconfig.get_paths()["purelib"])
    code = ("import nnabla_nas, nnabla_nas.cli, nnabla_nas.runner, nnabla_nas.contrib.darts;"
            "print(nnabla_nas.__file__)")
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True,
                         cwd=tmp_path, env=env).stdout
    assert "site-packages" in out and str(ROOT) not in out
    script = Path(python).parent / "nnabla-nas"
    help_ = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                           cwd=tmp_path, env=env)
    assert help_.returncode == 0 and "DartsSearcher" in help_.stdout, help_.stderr
