"""`Searcher`: the alternating loop shared by every search algorithm.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

import os
import time
from typing import Dict

from ..runner import Meter, Runner  # noqa: F401 (Meter in signatures)


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

    @staticmethod
    def check_regularizer(regularizer: dict, path: str) -> None:
        """Validates the ``optimizer.regularizer`` section (none by default)."""
        from ...utils.registry import ConfigError
        if regularizer:
            raise ConfigError(f"{path}: regularizers are used by ProxylessNasSearcher only; "
                              f"remove the section for this algorithm")

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

    def run(self) -> Dict[str, object]:
        args = self.args
        total = args.warmup + args.epoch
        if self.resume():
            self.reporter.info(f"resuming from {self.output_path} after epoch "
                               f"{self.epoch}/{total}" +
                               (f", step {self.step}" if self.step else ""))
        if self.epoch >= total:
            self.reporter.info(f"this search finished already ({total} epochs in "
                               f"{self.output_path}); nothing to search")
            # A kill between the last checkpoint and the final files leaves them
            # missing: write them again from the checkpointed (final) weights.
            return self.finish()
        self.reporter.truncate_metrics(self.epoch + 1)
        self.reporter.info(f"{type(self).__name__}: {self.model.summary()}")
        steps = self.steps_per_epoch("train")
        for epoch in range(self.epoch, total):
            searching = epoch >= args.warmup
            phase = "search" if searching else "warmup"
            started = time.time() - self.seconds
            train, valid = self.meters["train"], self.meters["valid"]
            bar = self.reporter.progress(steps, f"{phase} {epoch + 1}/{total}")
            bar.update(self.step)
            for step in range(self.step, steps):
                # Weight step: network weights on the search-train split.
                train.add(*self.train_on_batch(warmup=not searching))
                # Architecture step: architecture weights on the search-valid split.
                if searching:
                    valid.add(*self.valid_on_batch())
                bar.update()
                if (step + 1) % args.print_frequency == 0 or step + 1 == steps:
                    post = {"loss": f"{train.mean()['loss']:.3f}",
                            "err": f"{train.mean()['error']:.3f}"}
                    if valid:
                        post["arch_err"] = f"{valid.mean()['error']:.3f}"
                    bar.set_postfix(post)
                self.after_step(step + 1, time.time() - started)
            bar.close()
            self.epoch = epoch + 1
            self.end_epoch(phase, train, valid, time.time() - started)
        return self.finish()

    def finish(self) -> Dict[str, object]:
        """Writes the final ``weights.h5`` and ``results.json`` (atomically); returns
        the summary. Run after the last epoch's checkpoint, and again when a
        finished search is rerun, so an interrupted end is completed."""
        self.model.save_parameters(os.path.join(self.output_path, "weights.h5"))
        summary = self.summary()
        self.write_json("results.json", summary)
        self.reporter.info(f"search done: architecture in {self.output_path}/arch.json "
                           f"(arch.h5, pictures beside it), weights in weights.h5")
        return summary

    def end_epoch(self, phase: str, train: Meter, valid: Meter, seconds: float) -> None:
        """Reports the epoch, exports the architecture and commits a checkpoint."""
        lr = self.weight_optimizer(phase == "warmup").learning_rate()
        extra = " ".join(filter(None, [phase, getattr(self, "epoch_extra", "")]))
        self.epoch_extra = ""
        self.reporter.epoch(self.epoch, "train", train.mean(), lr, seconds, extra)
        line = (f"epoch {self.epoch}/{self.args.warmup + self.args.epoch} [{phase}] "
                f"train loss {train.mean()['loss']:.4f} error {train.mean()['error']:.4f}")
        if valid:
            self.reporter.epoch(self.epoch, "valid", valid.mean(),
                                self.optimizer["valid"].learning_rate(), seconds, extra)
            line += f" | arch loss {valid.mean()['loss']:.4f} error {valid.mean()['error']:.4f}"
        self.reporter.info(f"{line} | {seconds:.1f}s")
        self.model.save_arch(self.output_path)
        self.reporter.draw_curves()
        self.new_epoch()
        self.save_checkpoint()

    def summary(self) -> Dict[str, object]:
        """What the search produced."""
        return {"algorithm": type(self).__name__, "epochs": self.epoch,
                "output_path": self.output_path,
                "arch": os.path.join(self.output_path, "arch.h5")}
