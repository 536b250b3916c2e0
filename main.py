"""Search or train: ``python main.py -a DartsSearcher -f config.json -o log/run``.

Thin on purpose: everything lives in :mod:`nnabla_nas.cli`.
"""

import sys

from nnabla_nas.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="main.py"))
