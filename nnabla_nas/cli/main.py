"""The ``nnabla-nas`` command (also ``python main.py`` and ``python -m nnabla_nas``).

Exit codes: 0 done, 1 the run failed (one line on stderr, the traceback in
``log.txt``), 2 bad input (one line naming it, nothing written), 128 + the
signal number after SIGINT/SIGTERM (a checkpoint was written).
"""

import argparse
import json
import os
import pickle
import signal
import sys
import traceback
from typing import List, Optional

EXIT_USAGE = 2
EXIT_FAILED = 1
# hparams that may change between a run and its resumption.
RUNTIME_KEYS = ("context", "device_id", "type_config", "quiet", "output_path")
# Flags that override the config's hparams when given: flag -> hparams key.
FLAG_KEYS = {"context": "context", "device_id": "device_id", "type_config": "type_config",
             "quiet": "quiet"}
#: Stop signals that arrived while the command was starting (see :func:`run`).
EARLY_STOPS: List[int] = []
#: nnabla's logging set-up for the command (its INFO lines would bury one-line errors).
NNABLA_CONF = os.path.join(os.path.dirname(__file__), "nnabla.conf")


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    sys.stderr.write(f"error: {message}\n")
    return code


def _differences(old: dict, new: dict, prefix: str = "") -> List[str]:
    """Key paths whose values differ between two resolved configs (runtime keys aside)."""
    keys = []
    for key in sorted(set(old) | set(new)):
        path = f"{prefix}.{key}" if prefix else key
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _differences(a, b, path)
        elif a != b and not (prefix == "hparams" and key in RUNTIME_KEYS):
            keys.append(path)
    return keys


def main(argv: Optional[List[str]] = None, prog: str = "nnabla-nas") -> int:
    """Runs the command line; returns the exit code."""
    os.environ.setdefault("NNABLA_CONFIG_FILE_PATH", NNABLA_CONF)  # before nnabla loads
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:  # `nnabla-nas export RUN_DIR ...` (cli/export.py)
        from .export import main as export_main
        return export_main(argv[1:], prog)
    from .args import parse_args
    args = parse_args(argv, prog)
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    run, resolved = prepared
    if EARLY_STOPS:
        return _fail("interrupted before the run started; rerun the command to start",
                     128 + EARLY_STOPS[0])
    try:
        os.makedirs(run.config.hparams.output_path, exist_ok=True)
        _save_config(run.config.hparams.output_path, resolved)
    except OSError as err:
        return _fail(f"cannot write to the output folder '{run.config.hparams.output_path}': "
                     f"{err.strerror or err}")
    return _execute(run.runner)


def _prepare(args: argparse.Namespace):
    """Validates the config, sets the context and builds the run; returns
    ``(run, resolved config)``, or an exit code (``--check``, bad input)."""
    from ..runner.checkpoint import exists as checkpoint_exists
    from ..utils.context import set_context
    from ..utils.registry import ConfigError
    from .build import build_run, describe
    from .config import validate_config
    try:
        config = validate_config(args.config_file, args.algorithm)
        hp = config.hparams
        for flag, key in FLAG_KEYS.items():  # flags override the config only when given
            if getattr(args, flag) is not None:
                setattr(hp, key, getattr(args, flag))
        hp.output_path = args.output_path or ""
        set_context(hp.context, hp.device_id, hp.type_config)
        run = build_run(config)
        if args.check:
            print(describe(run))
            return 0
        resolved = config.to_dict()
        if checkpoint_exists(hp.output_path):
            _check_same_config(hp.output_path, resolved)
    except (ConfigError, ValueError, FileNotFoundError, pickle.UnpicklingError) as err:
        return _fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    return run, resolved


def _check_same_config(output_path: str, resolved: dict) -> None:
    """Refuses to resume a run in ``output_path`` whose saved config differs."""
    from ..utils.registry import ConfigError
    saved_path = os.path.join(output_path, "config.json")
    if not os.path.isfile(saved_path):
        return
    with open(saved_path) as f:
        changed = _differences(json.load(f), resolved)
    if changed:
        raise ConfigError(f"{output_path} holds a run with a different config "
                          f"(differing keys: {', '.join(changed)}); use another "
                          f"-o folder or restore the config")


def _save_config(output_path: str, resolved: dict) -> None:
    from ..utils.io import write_text_atomic
    write_text_atomic(os.path.join(output_path, "config.json"),
                      json.dumps(resolved, indent=2) + "\n")


def _execute(runner) -> int:
    """Runs ``runner`` with SIGINT/SIGTERM turned into a checkpoint and a stop;
    returns the exit code."""
    from ..runner.runner import Interrupted, NonFiniteError
    previous = {sig: signal.signal(sig, lambda signum, _: runner.request_stop(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.run()
    except Interrupted as err:
        runner.reporter.info(f"{signal.Signals(err.signum).name}: {err}; rerun the same "
                             f"command to resume")
        return 128 + err.signum
    except KeyboardInterrupt as err:
        runner.reporter.info(f"interrupted; rerun the same command to resume from the last "
                             f"checkpoint in {runner.output_path}")
        return 128 + getattr(err, "signum", signal.SIGINT)
    except NonFiniteError as err:
        return _failed_run(runner, str(err))
    except OSError as err:
        return _failed_run(runner, f"writing {getattr(err, 'filename', None) or 'a file'} "
                                   f"failed: {err.strerror or err}; the files written before "
                                   f"are intact")
    except (ValueError, RuntimeError, pickle.UnpicklingError) as err:
        # A bad input found mid-run (an undecodable batch, a layer missing from a
        # latency table...): one line here, the traceback in log.txt.
        runner.reporter.debug(traceback.format_exc())
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return _failed_run(runner, f"{first} (traceback in {runner.output_path}/log.txt)")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        runner.close()
    return 0


def _failed_run(runner, message: str) -> int:
    """Reports a failed run in ``log.txt`` and on stderr (even with ``-q``)."""
    runner.reporter.debug(f"error: {message}")
    sys.stderr.write(f"error: {message}\n")
    return EXIT_FAILED


def run(prog: str = "nnabla-nas") -> None:
    """The command as a process (console script, ``main.py``, ``python -m``):
    :func:`main`, with a Ctrl-C before the run starts ending it quietly (exit
    130, nothing written but the resolved ``config.json``) and one after it
    ended ignored (the files are written; an interrupt in the interpreter's
    teardown would only print a traceback)."""
    # Until the run installs its own handlers, a stop signal is only recorded: a
    # KeyboardInterrupt inside an extension's import can crash the interpreter.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _: EARLY_STOPS.append(signum))
    try:
        code = main(prog=prog)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted before the run started; rerun the command to start\n")
        code = 128 + signal.SIGINT
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    sys.exit(code)
