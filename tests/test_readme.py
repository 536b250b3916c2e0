"""The README's Python API example runs as printed and its search learns."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- python-api -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its python-api example"
    return match.group(1)


@pytest.mark.slow
def test_readme_python_api_example_runs(tmp_path):
    code = readme_block()
    assert 15 <= len(code.strip().splitlines()) <= 40
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    probs = re.search(r"softmax\(alpha\): \[([^\]]+)\]", proc.stdout)
    assert probs, proc.stdout
    values = [float(v) for v in probs.group(1).split()]
    assert len(values) == 3 and abs(sum(values) - 1) < 1e-2
    assert values != [round(1 / 3, 3)] * 3, "alpha never moved"
    for name in ("arch.h5", "weights.h5", "metrics.csv", "log.txt"):
        assert (tmp_path / "log" / "tiny" / name).is_file(), name
