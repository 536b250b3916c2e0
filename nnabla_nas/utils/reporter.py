"""Where a run reports: ``log.txt``, ``metrics.csv``, TensorBoard, curves PNG, progress bars."""

import csv
import io
import logging
import os
import sys
import time
from typing import Callable, Dict, Optional

from tqdm import tqdm

from .io import write_text_atomic

#: Figures of a search's architecture (the collapse monitor,
#: ``nnabla_nas.runner.searcher.monitor``): columns of its ``valid`` rows.
ARCH_FIELDS = ("param_free_share", "alpha_entropy", "alpha_max_prob")
#: The columns of ``metrics.csv``. The architecture figures come last, after
#: the ones older files have, so readers that index the first columns still work.
FIELDS = ("epoch", "split", "loss", "error", "lr", "seconds", "extra") + ARCH_FIELDS


class Reporter:
    """Writes everything a person reads about a run into ``output_path``.

    Args:
        output_path: The run's output folder (created by the caller).
        quiet: No progress bars and no console lines (files are still written).
    """

    def __init__(self, output_path: str, quiet: bool = False):
        self.path = output_path
        self.quiet = quiet
        self.csv_path = os.path.join(output_path, "metrics.csv")
        self._log = logging.getLogger(f"nnabla_nas.run.{id(self)}")
        self._log.propagate = False
        self._log.setLevel(logging.INFO)
        handler = logging.FileHandler(os.path.join(output_path, "log.txt"), mode="a")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        self._log.addHandler(handler)
        self._handlers = [handler]
        if not quiet:
            console = logging.StreamHandler(sys.stdout)
            console.setFormatter(logging.Formatter("%(message)s"))
            self._log.addHandler(console)
            self._handlers.append(console)
        self._writer = None
        self._started = time.time()

    def info(self, message: str) -> None:
        """One line to ``log.txt`` (and the console unless quiet)."""
        if self.quiet:
            self._log.info(message)
        else:
            tqdm.write("", end="")  # keep bars and lines apart
            self._log.info(message)

    def debug(self, message: str) -> None:
        """Writes ``message`` (any number of lines) to ``log.txt`` only."""
        for handler in self._handlers[:1]:
            handler.emit(logging.makeLogRecord({"msg": message, "levelno": logging.INFO,
                                                "levelname": "INFO"}))
            handler.flush()

    def progress(self, total: int, desc: str):
        """A tqdm bar (rate and ETA); silent when quiet or not a terminal."""
        disable = True if self.quiet else None  # None: tqdm disables itself off a TTY
        return tqdm(total=total, desc=desc, disable=disable, leave=False, dynamic_ncols=True,
                    file=sys.stdout)

    def truncate_metrics(self, first_epoch: int) -> None:
        """Drops ``metrics.csv`` rows of epochs >= ``first_epoch`` (on resume);
        a file of an older version gets the current columns (empty in its rows)."""
        if os.path.exists(self.csv_path):
            self._rewrite(lambda row: int(row["epoch"]) < first_epoch)

    def _rewrite(self, keep: Callable[[Dict[str, str]], bool]) -> None:
        """Writes ``metrics.csv`` again with the current columns, keeping the rows
        ``keep`` accepts."""
        with open(self.csv_path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if keep(r)]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(self.csv_path, buf.getvalue())

    def epoch(self, epoch: int, split: str, values: Dict[str, float], lr: float,
              seconds: float, extra: str = "", arch: Optional[Dict[str, float]] = None) -> None:
        """Records one epoch of one split in ``metrics.csv`` and TensorBoard.

        Args:
            arch: Architecture figures, keys of :data:`ARCH_FIELDS` (others are
                ignored); TensorBoard shows them under ``arch/``.
        """
        if os.path.exists(self.csv_path) and self._header() != FIELDS:
            self._rewrite(lambda row: True)  # an older version's file: the new columns
        new = not os.path.exists(self.csv_path)
        arch = {k: v for k, v in (arch or {}).items() if k in ARCH_FIELDS}
        with open(self.csv_path, "a", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            if new:
                writer.writeheader()
            writer.writerow({"epoch": epoch, "split": split, "loss": f"{values['loss']:.6f}",
                             "error": f"{values['error']:.6f}", "lr": f"{lr:.6g}",
                             "seconds": f"{seconds:.2f}", "extra": extra,
                             **{k: f"{v:.6f}" for k, v in arch.items()}})
            f.flush()
            os.fsync(f.fileno())
        writer = self._tensorboard()
        if writer is not None:
            for key, value in values.items():
                writer.add_scalar(f"{split}/{key}", value, epoch)
            for key, value in arch.items():
                writer.add_scalar(f"arch/{key}", value, epoch)
            writer.flush()

    def _header(self) -> tuple:
        with open(self.csv_path, newline="") as f:
            return tuple(next(csv.reader(f), ()))

    def _tensorboard(self):
        if self._writer is None:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:  # optional at run time; metrics.csv has everything
                return None
            self._writer = SummaryWriter(os.path.join(self.path, "tensorboard"))
        return self._writer

    def draw_curves(self) -> Optional[str]:
        """Draws ``curves.png`` (loss and error per split) from ``metrics.csv``."""
        if not os.path.exists(self.csv_path):
            return None
        from .plots import draw_curves
        out = os.path.join(self.path, "curves.png")
        draw_curves(self.csv_path, out)
        return out

    def close(self) -> None:
        """Flushes and closes every file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for handler in self._handlers:
            self._log.removeHandler(handler)
            handler.close()


class SilentReporter:
    """The reporter of a data-parallel run's other ranks (not rank 0): it has
    :class:`Reporter`'s methods, writes no file and prints nothing (errors
    still reach stderr through the command)."""

    path = None
    quiet = True

    def progress(self, total: int, desc: str):
        """A disabled tqdm bar."""
        return tqdm(total=total, desc=desc, disable=True)

    def draw_curves(self) -> Optional[str]:
        return None

    def __getattr__(self, name: str):
        if name in ("info", "debug", "truncate_metrics", "epoch", "close"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)
