"""`Trainer`: trains a fixed (searched) network and keeps the best weights."""

import os
import time
from typing import Dict

from ...utils.io import load_h5_parameters
from ..registry import RUNNERS
from ..runner import Runner


@RUNNERS.register("Trainer")
class Trainer(Runner):
    """Trains the network on the ``train`` split, selects the epoch with the
    lowest ``valid`` error (``weights.h5``), and reports the ``test`` split
    once, at the end, with those weights (the test set never selects).
    """

    @staticmethod
    def network_class(space):
        """The class of ``space`` this algorithm builds (its ``TrainNet``)."""
        return space.TrainNet

    def __init__(self, model, optimizer: Dict[str, object], dataloader: Dict[str, object],
                 args, comm=None):
        super().__init__(model, optimizer, dataloader, args, comm)
        self.best = {"epoch": 0, "error": float("inf")}
        self._drop_path = getattr(self.model, "drop_path_prob", None)

    @property
    def weights_path(self) -> str:
        """``weights.h5`` of the output folder: the best weights so far."""
        return os.path.join(self.output_path, "weights.h5")

    def state(self) -> dict:
        state = {**super().state(), "best": self.best}
        if self._drop_path is not None:
            state["drop_path_prob"] = self.model.drop_path_prob
        return state

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        self.best = dict(state.get("best", self.best))
        if "drop_path_prob" in state:
            self.model.drop_path_prob = state["drop_path_prob"]

    def train_on_batch(self):
        """One weight update on the ``train`` split; returns (loss, error)."""
        return self.weight_update(self.optimizer["train"], "train", self.args.accum_train,
                                  key="train")

    # -- the loop's steps (see Runner.run) ----------------------------------------
    def begin_epoch(self, epoch: int) -> str:
        if self._drop_path is not None:
            # DARTS schedule: drop-path probability grows linearly over training.
            self.model.drop_path_prob = self._drop_path * epoch / self.args.epoch
        return "train"

    def train_step(self, phase: str) -> None:
        self.meters["train"].add(*self.train_on_batch())

    def end_epoch(self, phase: str, started: float) -> None:
        """Evaluates ``valid``, keeps the best weights and reports the epoch."""
        valid = self.evaluate("valid")
        self.epoch += 1
        seconds = time.time() - started
        if valid["error"] < self.best["error"]:
            self.best = {"epoch": self.epoch, "error": valid["error"]}
            if self.comm.is_main:
                self.model.save_parameters(self.weights_path)
        train = self.meter_mean("train")
        lr = self.optimizer["train"].learning_rate()
        self.reporter.epoch(self.epoch, "train", train, lr, seconds)
        self.reporter.epoch(self.epoch, "valid", valid, lr, seconds)
        self.reporter.info(
            f"epoch {self.epoch}/{self.args.epoch} train loss {train['loss']:.4f} "
            f"error {train['error']:.4f} | valid loss {valid['loss']:.4f} "
            f"error {valid['error']:.4f} | best epoch {self.best['epoch']} | {seconds:.1f}s")

    def finish(self) -> Dict[str, object]:
        """Evaluates the best weights on ``test`` and writes ``results.json``."""
        weights = self.weights_path
        self.model.set_parameters(load_h5_parameters(weights))
        test = self.evaluate("test") if "test" in self.dataloader else None
        summary = {"algorithm": "Trainer", "epochs": self.epoch,
                   "best_epoch": self.best["epoch"], "valid_error": self.best["error"],
                   "weights": weights}
        if test is not None:
            summary.update(test_error=test["error"], test_accuracy=1 - test["error"],
                           test_loss=test["loss"])
            self.reporter.info(f"test accuracy {100 * (1 - test['error']):.2f}% "
                               f"(weights of epoch {self.best['epoch']}, chosen on the "
                               f"validation split)")
        self.write_json("results.json", summary)
        return summary
