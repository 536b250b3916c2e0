"""`Runner`: the shared epoch loop, stops, checks and the algorithm's options."""

import json
import os

import numpy as np
import pytest

from nnabla_nas.runner import DartsSearcher, ProxylessNasSearcher, Runner, Trainer
from nnabla_nas.runner.runner import Interrupted, NonFiniteError, frozen, steps_per_epoch

from .conftest import TinyNet, tiny_loaders, tiny_optimizers


class Counting(Runner):
    """A runner that records what the loop asks of it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def begin_epoch(self, epoch):
        self.calls.append(("begin", epoch))
        return "count"

    def train_step(self, phase):
        self.calls.append(("step", self.epoch, self.step))
        self.meters["train"].add(*self.weight_update(self.optimizer["train"], "train", 1,
                                                     key="train"))

    def end_epoch(self, phase, started):
        self.epoch += 1
        self.calls.append(("end", self.epoch))
        self.reporter.epoch(self.epoch, "train", self.meters["train"].mean(), 0.1, 0.0)

    def finish(self):
        self.calls.append(("finish",))
        return {"epochs": self.epoch}


def counting(hparams, **kwargs):
    return Counting(TinyNet(), tiny_optimizers(search=False), tiny_loaders(), hparams,
                    **kwargs)


@pytest.mark.parametrize("size, batch, steps", [(64, 16, 4), (65, 16, 5), (1, 16, 1),
                                                (0, 16, 1)])
def test_steps_per_epoch_uses_every_sample_once(size, batch, steps):
    assert steps_per_epoch(size, batch) == steps


def test_loop_calls_each_hook_in_order_and_checkpoints_every_epoch(hparams):
    runner = counting(hparams)
    assert runner.run() == {"epochs": 2}
    steps = [c for c in runner.calls if c[0] == "step"]
    assert steps == [("step", e, s) for e in range(2) for s in range(4)]
    kinds = [c[0] for c in runner.calls]
    assert kinds == ["begin"] + ["step"] * 4 + ["end", "begin"] + ["step"] * 4 + \
        ["end", "finish"]
    state = json.loads(open(os.path.join(hparams.output_path, "checkpoint",
                                         "state.json")).read())
    assert state["epoch"] == 2 and state["runner"]["step"] == 0
    assert os.path.isfile(os.path.join(hparams.output_path, "curves.png"))


def test_a_finished_run_only_finishes_again(hparams):
    counting(hparams).run()
    again = counting(hparams)
    again.run()
    assert again.calls == [("finish",)]


def test_stop_request_checkpoints_mid_epoch_and_resume_continues(hparams):
    runner = counting(hparams)
    original = runner.train_step

    def stop_after_six(phase):
        original(phase)
        if len([c for c in runner.calls if c[0] == "step"]) == 6:
            runner.request_stop(2)
    runner.train_step = stop_after_six
    with pytest.raises(Interrupted, match="stopped in epoch 2 after step 2"):
        runner.run()
    resumed = counting(hparams)
    resumed.run()
    assert [c for c in resumed.calls if c[0] == "step"] == [("step", 1, 2), ("step", 1, 3)]
    assert resumed.epoch == 2


def test_second_stop_request_stops_at_once(hparams):
    runner = counting(hparams)
    runner.request_stop(2)
    with pytest.raises(KeyboardInterrupt):
        runner.request_stop(2)


def test_non_finite_values_name_epoch_step_and_weight(hparams):
    runner = counting(hparams)
    with pytest.raises(NonFiniteError, match="train loss is nan at epoch 1, step 1"):
        runner.check_finite(float("nan"), "train loss")
    runner.check_finite(1.0, "train loss")
    runner.check_arch_finite()
    runner.model.choice.alpha.d = np.array([np.inf, 0]).reshape(2, 1, 1, 1, 1)
    with pytest.raises(NonFiniteError, match="architecture weight 'choice/_alpha'"):
        runner.check_arch_finite()


def test_frozen_restores_need_grad(hparams):
    params = list(TinyNet().get_parameters().values())
    params[0].need_grad = False
    before = [p.need_grad for p in params]
    with frozen(params):
        assert not any(p.need_grad for p in params)
    assert [p.need_grad for p in params] == before


def test_each_algorithm_lists_its_own_options():
    assert DartsSearcher.options() == {"second_order": False, "beta_decay": 0.0}
    assert Trainer.options() == {}
    assert ProxylessNasSearcher.options() == {
        "regularizer": None, "reward": "accuracy", "n_iter": 10, "baseline_decay": 0.95,
        "gradient_estimator": "reinforce", "train_paths": 1}


def test_evaluate_restores_training_mode_and_uses_every_sample(hparams):
    runner = Counting(TinyNet(), tiny_optimizers(search=False),
                      tiny_loaders(splits=("train", "valid", "test"), n=40), hparams)
    result = runner.evaluate("test")
    assert runner.model.training
    assert 0 <= result["error"] <= 1
    # 40 samples in batches of 16: the mean is weighted by batch size.
    errors = []
    for batch in runner.dataloader["test"].epoch():
        graph = runner.graph("check", len(batch[0]), training=False)
        graph.feed(batch)
        errors += [graph.forward()[1]] * len(batch[0])
    assert result["error"] == pytest.approx(np.mean(errors))
