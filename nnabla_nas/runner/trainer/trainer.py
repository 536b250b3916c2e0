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

    @staticmethod
    def check_regularizer(regularizer: dict, path: str) -> None:
        from ...utils.registry import ConfigError
        if regularizer:
            raise ConfigError(f"{path}: the Trainer uses no regularizer; remove the section")

    def __init__(self, model, optimizer: Dict[str, object], dataloader: Dict[str, object],
                 args):
        super().__init__(model, optimizer, dataloader, args)
        self.best = {"epoch": 0, "error": float("inf")}
        self._drop_path = getattr(self.model, "drop_path_prob", None)

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

    def run(self) -> Dict[str, object]:
        args = self.args
        weights = os.path.join(self.output_path, "weights.h5")
        if self.resume():
            self.reporter.info(f"resuming from {self.output_path} after epoch "
                               f"{self.epoch}/{args.epoch}")
        self.reporter.truncate_metrics(self.epoch + 1)
        if self.epoch < args.epoch:
            self.reporter.info(f"Trainer: {self.model.summary()}")
        steps = self.steps_per_epoch("train")
        for epoch in range(self.epoch, args.epoch):
            if self._drop_path is not None:
                # DARTS schedule: drop-path probability grows linearly over training.
                self.model.drop_path_prob = self._drop_path * epoch / args.epoch
            started = time.time() - self.seconds
            train = self.meters["train"]
            bar = self.reporter.progress(steps, f"train {epoch + 1}/{args.epoch}")
            bar.update(self.step)
            for step in range(self.step, steps):
                train.add(*self.train_on_batch())
                bar.update()
                if (step + 1) % args.print_frequency == 0 or step + 1 == steps:
                    bar.set_postfix(loss=f"{train.mean()['loss']:.3f}",
                                    err=f"{train.mean()['error']:.3f}")
                self.after_step(step + 1, time.time() - started)
            bar.close()
            valid = self.evaluate("valid")
            self.epoch = epoch + 1
            seconds = time.time() - started
            if valid["error"] < self.best["error"]:
                self.best = {"epoch": self.epoch, "error": valid["error"]}
                self.model.save_parameters(weights)
            lr = self.optimizer["train"].learning_rate()
            self.reporter.epoch(self.epoch, "train", train.mean(), lr, seconds)
            self.reporter.epoch(self.epoch, "valid", valid, lr, seconds)
            self.reporter.info(
                f"epoch {self.epoch}/{args.epoch} train loss {train.mean()['loss']:.4f} "
                f"error {train.mean()['error']:.4f} | valid loss {valid['loss']:.4f} "
                f"error {valid['error']:.4f} | best epoch {self.best['epoch']} | {seconds:.1f}s")
            self.reporter.draw_curves()
            self.new_epoch()
            self.save_checkpoint()
        return self.finish(weights)

    def finish(self, weights: str) -> Dict[str, object]:
        """Evaluates the best weights on ``test`` and writes ``results.json``."""
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
