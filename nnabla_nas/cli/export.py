"""``nnabla-nas export RUN_DIR``: the network of a run folder to an ONNX or NNP file.

Examples::

    python main.py export log/quickstart/train                  # RUN_DIR/model.onnx
    python main.py export log/train --format nnp --batch-size 8 -o net.nnp
    python main.py export log/search --evaluate                 # + test accuracy

Every bad input is one line on stderr and exit code 2; nothing is written then.
"""

import os
import sys
from typing import List, Optional

EXIT_USAGE = 2


def _parser(prog: str):
    from .args import _Parser
    from ..export.api import FORMATS
    parser = _Parser(prog=f"{prog} export",
                     description="Export the network of a run folder (a training run: its "
                                 "best weights; a search: its argmax network) to ONNX or NNP.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by main.py -o")
    parser.add_argument("--format", default=None,
                        help=f"file format: {' or '.join(FORMATS)} (default: the extension of "
                             f"-o, else onnx)")
    parser.add_argument("-b", "--batch-size", type=int, default=1,
                        help="batch axis of the file (default: 1)")
    parser.add_argument("-o", "--output", default=None,
                        help="output file (default: RUN_DIR/model.FORMAT)")
    parser.add_argument("--no-normalization", action="store_true",
                        help="the file takes normalized images, as the network in training "
                             "(default: it takes 0..255 pixels and normalizes them with the "
                             "dataset's mean and std)")
    parser.add_argument("--evaluate", action="store_true",
                        help="print the test accuracy of the ONNX file in ONNX Runtime next to "
                             "nnabla's (ONNX only)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return parser


def main(argv: Optional[List[str]] = None, prog: str = "nnabla-nas") -> int:
    """Runs ``export``; returns the exit code (``nnabla_nas.cli.main`` calls it
    for ``nnabla-nas export ...``, after quieting nnabla's console)."""
    parser = _parser(prog)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.batch_size < 1:
        parser.error(f"argument -b/--batch-size: must be a positive integer, "
                     f"got {args.batch_size}")
    from ..export.api import check_output_path, export
    from ..export.errors import ExportError
    from ..export.run_folder import build_run_data, load_run_network, read_config
    fmt = args.format or (os.path.splitext(args.output)[1].lstrip(".").lower()
                          if args.output else "onnx")
    output = args.output or os.path.join(args.run_dir, f"model.{fmt}")
    try:
        read_config(args.run_dir)
        fmt = check_output_path(output, fmt)
        if args.evaluate and fmt != "onnx":
            raise ExportError("--evaluate runs the ONNX file; use it with --format onnx")
        run = load_run_network(args.run_dir)
        data = None
        if not args.no_normalization or args.evaluate:
            data = build_run_data(run.config)
        normalization = None if args.no_normalization else (data.mean, data.std)
        result = export(run.model, output, run.input_shape, args.batch_size, fmt,
                        normalization)
        accuracy = None
        if args.evaluate:
            from ..export.evaluate import test_accuracy
            accuracy = test_accuracy(run.model, output, data, args.batch_size, normalization)
    except ExportError as err:
        sys.stderr.write(f"error: {str(err).splitlines()[0]}\n")
        return EXIT_USAGE
    if not args.quiet:
        net = "argmax network of the search" if run.kind == "search" else "trained network"
        print(f"wrote {result.path} ({fmt.upper()}, batch {result.batch_size}, "
              f"{result.bytes / 1e6:.2f} MB): the {net} in {args.run_dir}; outputs equal the "
              f"network's within {result.max_abs_diff:.1e}")
        print(f"input: {result.input}")
        if accuracy is not None:
            print(f"test accuracy ({accuracy.images} images): nnabla "
                  f"{100 * accuracy.nnabla:.2f}%, ONNX Runtime {100 * accuracy.onnxruntime:.2f}% "
                  f"({accuracy.disagreements} predictions differ)")
    return 0
