"""Search or train: ``python main.py -a DartsSearcher -f config.json -o log/run``.

Thin on purpose: everything lives in :mod:`nnabla_nas.cli`.
"""

from nnabla_nas.cli import run

if __name__ == "__main__":
    run(prog="main.py")
