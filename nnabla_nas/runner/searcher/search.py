"""`Searcher`: the alternating loop shared by every search algorithm.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

import os
import time
from typing import Dict

from ..runner import Runner
from . import monitor


class Searcher(Runner):
    """Runs ``warmup`` epochs of weight-only training, then ``epoch`` epochs
    alternating one weight update and one architecture update.

    Subclasses implement :meth:`train_on_batch` (the weight step) and
    :meth:`valid_on_batch` (the architecture step). Each epoch writes the
    architecture (``arch.h5``, plus ``arch.json`` and pictures where the
    search space draws them), ``metrics.csv``, ``curves.png`` and a
    checkpoint; the end writes ``weights.h5``.
    """

    #: MixedOp mode of the search network.
    network_mode = "full"

    @staticmethod
    def network_class(space):
        """The class of ``space`` this algorithm builds (its ``SearchNet``)."""
        return space.SearchNet

    def train_on_batch(self, warmup: bool = False):
        """Weight step on the search-train split; returns (loss, error)."""
        raise NotImplementedError

    def valid_on_batch(self):
        """Architecture step on the search-valid split; returns (loss, error)."""
        raise NotImplementedError

    def weight_optimizer(self, warmup: bool):
        """The optimizer of the weight step (``warmup`` one during warmup, if given)."""
        if warmup and "warmup" in self.optimizer:
            return self.optimizer["warmup"]
        return self.optimizer["train"]

    # -- the loop's steps (see Runner.run) ----------------------------------------
    @property
    def total_epochs(self) -> int:
        return self.args.warmup + self.args.epoch

    def begin_epoch(self, epoch: int) -> str:
        return "search" if epoch >= self.args.warmup else "warmup"

    def train_step(self, phase: str) -> None:
        searching = phase == "search"
        # Weight step: network weights on the search-train split.
        self.meters["train"].add(*self.train_on_batch(warmup=not searching))
        # Architecture step: architecture weights on the search-valid split.
        if searching:
            self.meters["valid"].add(*self.valid_on_batch())

    def epoch_extra(self) -> str:
        """Extra text of the epoch's ``metrics.csv`` rows (none by default)."""
        return ""

    def end_epoch(self, phase: str, started: float) -> None:
        """Reports the epoch (with the :meth:`arch_figures` on the ``valid``
        rows) and exports the architecture."""
        seconds = time.time() - started
        self.epoch += 1
        train = self.meter_mean("train")  # over every rank
        valid = self.meter_mean("valid") if self.meters["valid"] else None
        lr = self.weight_optimizer(phase == "warmup").learning_rate()
        extra = " ".join(filter(None, [phase, self.epoch_extra()]))
        self.reporter.epoch(self.epoch, "train", train, lr, seconds, extra)
        line = (f"epoch {self.epoch}/{self.total_epochs} [{phase}] "
                f"train loss {train['loss']:.4f} error {train['error']:.4f}")
        if valid:
            figures = self.arch_figures()
            self.reporter.epoch(self.epoch, "valid", valid,
                                self.optimizer["valid"].learning_rate(), seconds, extra,
                                arch=figures)
            line += f" | arch loss {valid['loss']:.4f} error {valid['error']:.4f}"
            if figures:
                line += (f" | alpha entropy {figures['alpha_entropy']:.3f} max p "
                         f"{figures['alpha_max_prob']:.3f} param-free "
                         f"{figures['param_free_share']:.2f}")
        self.reporter.info(f"{line} | {seconds:.1f}s")
        if self.comm.is_main:
            self.model.save_arch(self.output_path)

    def arch_figures(self) -> Dict[str, float]:
        """The collapse monitor's figures of the current architecture weights
        (:func:`~.monitor.arch_figures`; empty for a model without choice points)."""
        return monitor.arch_figures(self.model, self.mixed_ops)

    def finish(self) -> Dict[str, object]:
        """Writes the final ``weights.h5`` and ``results.json`` (atomically); returns
        the summary. Run after the last epoch's checkpoint, and again when a
        finished search is rerun, so an interrupted end is completed. A search
        whose alphas barely moved (:func:`~.monitor.alphas_moved`) ends with a
        warning naming the knobs, also in ``results.json``."""
        if self.comm.is_main:
            self.model.save_parameters(os.path.join(self.output_path, "weights.h5"))
        summary = self.summary()
        self.write_json("results.json", summary)
        self.reporter.info(f"search done: architecture in {self.output_path}/arch.json "
                           f"(arch.h5, pictures beside it), weights in weights.h5")
        if "warning" in summary:
            self.reporter.info(f"warning: {summary['warning']}")
        return summary

    def summary(self) -> Dict[str, object]:
        """What the search produced: also the monitor's figures of the final
        architecture weights, ``alphas_moved``, and the ``warning`` when they
        barely moved."""
        summary = {"algorithm": type(self).__name__, "epochs": self.epoch,
                   "output_path": self.output_path,
                   "arch": os.path.join(self.output_path, "arch.h5")}
        figures = self.arch_figures()
        if figures:
            moved = monitor.alphas_moved(figures)
            summary.update(figures, alphas_moved=moved)
            if not moved:
                summary["warning"] = monitor.warning(
                    figures, self.optimizer["valid"].learning_rate(), self.args.epoch)
        return summary
