"""``python -m nnabla_nas``: the same command as ``main.py``."""

import sys

from .cli import main

sys.exit(main(prog="python -m nnabla_nas"))
