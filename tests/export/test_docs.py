"""The example of docs/deploy.rst runs as printed."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
pytest.importorskip("onnxruntime")


def deploy_example() -> str:
    text = (ROOT / "docs" / "deploy.rst").read_text()
    match = re.search(r"\.\. deploy-example\n\.\. code-block:: python\n\n(.*?)\n\n(?! )", text,
                      re.S)
    assert match, "docs/deploy.rst lost its tested example"
    return "\n".join(line[4:] for line in match.group(1).splitlines())


def test_deploy_example_runs(tmp_path):
    code = deploy_example()
    assert len(code.strip().splitlines()) <= 12
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shape, diff, size = proc.stdout.strip().splitlines()[-1].rsplit(" ", 2)
    assert shape == "(8, 10)" and float(diff) <= 1e-5 and int(size) > 0
    assert (tmp_path / "net.onnx").stat().st_size == int(size)
