"""The command line: ``[-c cpu|cudnn] [-d ids] [-t float|half] [-s] -a NAME -f CONFIG -o DIR``."""

import argparse
import sys
from typing import List, Optional


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def parse_args(argv: Optional[List[str]] = None, prog: str = "nnabla-nas") -> argparse.Namespace:
    """Parses the command line. Flags left out are None, so they override
    the config only when given."""
    from ..runner.registry import RUNNERS
    parser = _Parser(prog=prog, description="Neural architecture search with nnabla: "
                     "search (DartsSearcher, ProxylessNasSearcher) or train (Trainer).")
    parser.add_argument("-c", "--context", choices=["cpu", "cuda", "cudnn"], default=None,
                        help="compute context (default: hparams.context, else cpu)")
    parser.add_argument("-d", "--device-id", default=None,
                        help="GPU id (default: hparams.device_id, else 0)")
    parser.add_argument("-t", "--type-config", choices=["float", "half"], default=None,
                        help="number type (default: hparams.type_config, else float)")
    parser.add_argument("-s", "--search", action="store_true",
                        help="accepted for compatibility: the search algorithms imply it")
    parser.add_argument("-a", "--algorithm", required=True, choices=RUNNERS.names(),
                        help="algorithm to run")
    parser.add_argument("-f", "--config-file", required=True, help="JSON or YAML config")
    parser.add_argument("-o", "--output-path", default=None,
                        help="output folder (required unless --check)")
    parser.add_argument("-q", "--quiet", action="store_true", default=None,
                        help="no progress bars or console lines")
    parser.add_argument("--check", action="store_true",
                        help="validate the config, build data, model and optimizers, "
                             "print a summary and exit")
    args = parser.parse_args(argv)
    if args.output_path is None and not args.check:
        parser.error("the following arguments are required: -o/--output-path")
    if args.search and args.algorithm == "Trainer":
        parser.error("-s/--search does not go with -a Trainer; use a searcher such as "
                     "-a DartsSearcher")
    return args
