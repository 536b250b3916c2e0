"""The wheel carries every subpackage and the right metadata."""

import glob
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contents(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel, = glob.glob(str(tmp_path / "nnabla_nas-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    packages = {str(p.parent.relative_to(ROOT)) for p in ROOT.glob("nnabla_nas/**/__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Python: >=3.8,<3.11" in metadata or "Requires-Python: <3.11,>=3.8" in metadata
    assert "Requires-Dist: nnabla" in metadata
    assert "License: Apache-2.0" in metadata

