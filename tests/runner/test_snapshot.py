"""Checkpoints restore every piece of a run's state (issue 17).

Each test runs a tiny DARTS search, ProxylessNAS search or training for some
steps, stops it right after a checkpoint (one written at an epoch's end, as a
SIGKILL a moment later would leave it, or one written mid-epoch by a stop
request, as SIGINT does), builds a fresh runner, loads the checkpoint, and
compares :func:`~nnabla_nas.runner.snapshot.snapshot` of the two: every
parameter, solver state and step counter, schedule, loader position and random
state, module random state, and the algorithm's own state. Then both continue
for some steps and must stay bit-identical. (Kills at random moments of whole
runs through ``main.py`` are in ``tests/test_faults.py``.)
"""

import signal

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.contrib.classification import darts
from nnabla_nas.dataset import build_dataset, make_loaders
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner import DartsSearcher, Hparams, ProxylessNasSearcher, Trainer
from nnabla_nas.runner.runner import Interrupted
from nnabla_nas.runner.snapshot import differences, snapshot
from nnabla_nas.utils.estimator import build_estimators

SEED = 3
NET = dict(in_channels=1, init_channels=2, num_cells=3, num_classes=3, num_choices=2,
           multiplier=2, stem_multiplier=1)
# DARTS with 4 nodes per cell: 14 shared edges, so alpha_normal/1 is a prefix of
# alpha_normal/10..13 (names nnabla's load_states confused).
DARTS_NET = dict(NET, num_choices=4)


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    rng = np.random.RandomState(0)
    n = 96
    y = np.arange(n) % 3
    x = rng.randint(0, 80, size=(n, 8, 8, 1)).astype(np.uint8)
    x[np.arange(n), 2 * y + 1, :, 0] = 250  # a bright row per class
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x=x, y=y)
    return str(path)


@pytest.fixture(scope="module")
def genotype(tmp_path_factory):
    folder = tmp_path_factory.mktemp("genotype")
    np.random.seed(0)
    net = darts.SearchNet(**NET)
    for _, alpha in net.get_arch_parameters().items():
        alpha.d = np.random.randn(*alpha.shape)
    net.save_arch(str(folder))
    return str(folder / "arch.json")


def optimizers(kinds, steps, epochs):
    sections = {
        "train": dict(name="Momentum", lr=0.05, momentum=0.9, weight_decay=3e-4, grad_clip=5.0,
                      lr_scheduler="CosineScheduler", max_iter=steps * epochs),
        "valid": dict(name="Adam", lr=0.05, beta1=0.5, beta2=0.999, weight_decay=1e-3),
    }
    return {k: Optimizer(**sections[k]) for k in kinds}


def build(algorithm, out, data_path, genotype):
    """A fresh runner, seeded as main.py seeds it."""
    np.random.seed(SEED)
    nn.random.seed(SEED)
    hp = Hparams(epoch=2, warmup=1 if algorithm != "Trainer" else 0, batch_size_train=16,
                 batch_size_valid=16, mini_batch_train=8, mini_batch_valid=16,
                 seed=SEED, output_path=str(out), quiet=True)
    if algorithm == "Trainer":
        data = build_dataset({"npz": {"path": data_path, "valid_portion": 0.25}})
        loaders = make_loaders(data, "train", 8, 16, seed=SEED)
        model = darts.TrainNet(**NET, genotype=genotype, auxiliary=True, drop_path=0.3)
        hp.loss_weights = [1.0, 0.4]
        steps = -(-loaders["train"].size // 16)
        return Trainer(model, optimizers(["train"], steps, 2), loaders, hp)
    data = build_dataset({"npz": {"path": data_path, "train_portion": 0.5}})
    loaders = make_loaders(data, "search", 8, 16, seed=SEED)
    steps = -(-loaders["train"].size // 16)
    opts = optimizers(["train", "valid"], steps, 3)
    if algorithm == "DartsSearcher":
        return DartsSearcher(darts.SearchNet(**DARTS_NET, shared=True), opts, loaders, hp)
    if algorithm == "PC-DARTS":  # unshared: every cell's own betas, named cells/<i>/edge_betas/<j>
        net = darts.SearchNet(**NET, partial_channels=2, edge_normalization=True)
        return DartsSearcher(net, opts, loaders, hp)
    regularizer = build_estimators({"MemoryEstimator": {"weight": 0.5, "bound": 0.01}})
    return ProxylessNasSearcher(darts.SearchNet(**NET, mode="sample"), opts, loaders, hp,
                                regularizer=regularizer, n_iter=2, baseline_decay=0.9)


class Killed(Exception):
    """Stands for a SIGKILL right after a checkpoint."""


def run_until(runner, at):
    """Runs ``runner`` until the checkpoint ``at`` names, then stops it there.

    ``("epoch", n)``: right after the n-th epoch-end checkpoint; ``("step", n)``:
    a stop request (what SIGINT does) at the n-th step, which checkpoints
    mid-epoch.
    """
    kind, n = at
    count = {"epoch": 0, "step": 0}
    save, after_step = runner.save_checkpoint, runner.after_step

    def save_then_die():
        save()
        if kind == "epoch" and runner.step == 0:
            count["epoch"] += 1
            if count["epoch"] == n:
                raise Killed

    def step_then_stop(step, seconds):
        count["step"] += 1
        if kind == "step" and count["step"] == n:
            runner.request_stop(signal.SIGINT)
        after_step(step, seconds)

    runner.save_checkpoint, runner.after_step = save_then_die, step_then_stop
    with pytest.raises(Killed if kind == "epoch" else Interrupted):
        runner.run()
    del runner.save_checkpoint, runner.after_step  # back to the class's methods
    runner._stop_signal = None
    runner.close()


def steps(runner, n):
    """``n`` more steps of the run's loop body (weight step, then architecture
    step once the search phase has begun)."""
    if isinstance(runner, Trainer):
        for _ in range(n):
            runner.train_on_batch()
        return
    searching = runner.epoch >= runner.args.warmup
    for _ in range(n):
        runner.train_on_batch(warmup=not searching)
        if searching:
            runner.valid_on_batch()


def assert_same(a, b, what):
    diff = differences(a, b)
    assert not diff, f"{what}: {len(diff)} entries differ, first: " + "; ".join(
        f"{k}: {str(a.get(k))[:60]} != {str(b.get(k))[:60]}" for k in diff[:3])


# 3 steps per epoch in the searches (1 warm-up + 2 search epochs), 4 in the training.
CASES = [("DartsSearcher", ("epoch", 1)),          # after warm-up
         ("DartsSearcher", ("step", 5)),           # SIGINT mid-epoch, in the search
         ("PC-DARTS", ("step", 5)),
         ("ProxylessNasSearcher", ("step", 5)),
         ("Trainer", ("epoch", 1)),
         ("Trainer", ("step", 6))]


@pytest.mark.parametrize("algorithm,at", CASES, ids=[f"{a}-{k}{n}" for a, (k, n) in CASES])
def test_checkpoint_restores_every_piece_of_state(algorithm, at, data_path, genotype, tmp_path):
    live = build(algorithm, tmp_path, data_path, genotype)
    run_until(live, at)
    before = snapshot(live)

    resumed = build(algorithm, tmp_path, data_path, genotype)
    assert resumed.resume()
    assert_same(before, snapshot(resumed), "after load")

    # Both continue: the same numbers to the last bit. They share numpy's global
    # random state in this process: give each the state at the checkpoint.
    np_state = np.random.get_state()
    steps(live, 3)
    after = snapshot(live)
    np.random.set_state(np_state)
    steps(resumed, 3)
    assert_same(after, snapshot(resumed), "3 steps later")


def test_snapshot_sees_state_the_checkpoint_forgets(data_path, genotype, tmp_path):
    """A new attribute of the runner, a module or an optimizer that the checkpoint
    does not carry makes the comparison fail, without the test naming it."""
    live = build("DartsSearcher", tmp_path, data_path, genotype)
    run_until(live, ("step", 1))
    resumed = build("DartsSearcher", tmp_path, data_path, genotype)
    resumed.resume()
    assert differences(snapshot(live), snapshot(resumed)) == []
    live.skipped_batches = 2
    live.mixed_ops[0].temperature = 0.5
    live.optimizer["valid"].warm = True
    diff = differences(snapshot(live), snapshot(resumed))
    assert any(k.endswith("skipped_batches") for k in diff)
    assert any(k.endswith("temperature") for k in diff)
    assert any(k.endswith("warm") for k in diff)
