"""``python -m nnabla_nas``: the same command as ``main.py``."""

from .cli import run

run(prog="python -m nnabla_nas")
