"""DartsSearcher on planted tasks: it must find the op that solves them."""

import os

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.base import ClassificationModel
from nnabla_nas.dataset import DataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner import DartsSearcher
from nnabla_nas.runner.hparams import Hparams

OPS = ["avg_pool", "max_pool", "zero", "min_pool"]


class PlantedNet(ClassificationModel):
    """One choice among global pooling ops, then a linear classifier."""

    def __init__(self):
        self.choice = Mo.MixedOp([
            Mo.AvgPool((4, 4), stride=(4, 4)),
            Mo.MaxPool((4, 4), stride=(4, 4)),
            Mo.Zero(stride=(4, 4)),
            Mo.Lambda(lambda x: -F.max_pooling(-x, (4, 4), (4, 4))),
        ])
        self.head = Mo.Linear(2, 2, rng=np.random.RandomState(0))

    def call(self, x):
        return self.head(self.choice(x))


def planted_data(n, seed):
    """Label = which channel holds the larger maximum: only max pooling sees it."""
    rng = np.random.RandomState(seed)
    x = rng.randint(0, 200, size=(n, 4, 4, 2)).astype(np.uint8)
    # A single bright pixel in the winning channel; means barely move.
    y = rng.randint(0, 2, size=n)
    x[np.arange(n), rng.randint(0, 4, n), rng.randint(0, 4, n), y] = 255
    return x, y


def loaders(seed):
    x, y = planted_data(512, seed)
    common = dict(mean=(0.4,), std=(0.25,))
    return {"train": DataLoader(x[:256], y[:256], 32, shuffle=True, rng=seed, **common),
            "valid": DataLoader(x[256:], y[256:], 32, shuffle=True, rng=seed + 1, **common)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_darts_finds_planted_max_pool(tmp_path, seed):
    np.random.seed(seed)
    model = PlantedNet()
    hp = Hparams(epoch=6, batch_size_train=32, batch_size_valid=32, seed=seed,
                 output_path=str(tmp_path), quiet=True)
    optimizers = {"train": Optimizer(name="Momentum", lr=0.1, momentum=0.9),
                  "valid": Optimizer(name="Adam", lr=0.05, beta1=0.5)}
    DartsSearcher(model, optimizers, loaders(seed), hp).run()
    probs = model.choice.probabilities()
    assert OPS[int(np.argmax(probs))] == "max_pool", dict(zip(OPS, probs.round(3)))
    assert probs[1] > 0.5, dict(zip(OPS, probs.round(3)))
    for name in ("arch.h5", "weights.h5", "metrics.csv", "log.txt", "curves.png"):
        assert os.path.isfile(tmp_path / name), name


def test_steps_freeze_the_other_group(tmp_path):
    """The weight step leaves alpha alone; the architecture step leaves the weights
    alone and computes no weight gradients."""
    model = PlantedNet()
    hp = Hparams(epoch=1, batch_size_train=32, batch_size_valid=32,
                 output_path=str(tmp_path), quiet=True)
    optimizers = {"train": Optimizer(name="Sgd", lr=0.1), "valid": Optimizer(name="Sgd", lr=0.1)}
    searcher = DartsSearcher(model, optimizers, loaders(0), hp)
    alpha = model.choice._alpha
    w = model.head._W
    a0, w0 = alpha.d.copy(), w.d.copy()
    searcher.train_on_batch()
    np.testing.assert_array_equal(alpha.d, a0)
    assert not np.allclose(w.d, w0)
    w1 = w.d.copy()
    w.grad.zero()
    searcher.valid_on_batch()
    np.testing.assert_array_equal(w.d, w1)
    np.testing.assert_array_equal(w.g, 0)  # no weight gradient was computed
    assert not np.allclose(alpha.d, a0)
    assert w.need_grad and alpha.need_grad  # flags restored


def test_arch_gradient_equals_full_gradient(tmp_path):
    """Freezing the weights does not change alpha's gradient."""
    model = PlantedNet()
    hp = Hparams(epoch=1, batch_size_train=32, batch_size_valid=32,
                 output_path=str(tmp_path), quiet=True)
    searcher = DartsSearcher(model, {"train": Optimizer(), "valid": Optimizer()}, loaders(0), hp)
    model.choice._alpha.d = np.array([0.3, -0.2, 0.1, 0.4]).reshape(4, 1, 1, 1, 1)
    state = searcher.dataloader["valid"].state_dict()
    grads = []
    for freeze in (True, False):
        searcher.dataloader["valid"].load_state_dict(state)
        for p in model.get_parameters().values():
            p.grad.zero()
        params = model.get_net_parameters().values() if freeze else []
        from nnabla_nas.runner.runner import frozen
        with frozen(params):
            graph = searcher.graph("search", 32, training=True)
            searcher.accumulate(graph, "valid", 1)
        grads.append(model.choice._alpha.g.copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
    assert np.abs(grads[0]).max() > 0


def test_gradient_accumulation_equals_big_batch(tmp_path):
    """Two accumulated mini-batches of 16 give the gradient of one batch of 32."""
    x, y = planted_data(64, 3)
    grads = []
    for mini in (32, 16):
        nn.clear_parameters()
        np.random.seed(0)
        model = PlantedNet()
        hp = Hparams(epoch=1, batch_size_train=32, mini_batch_train=mini,
                     batch_size_valid=32, output_path=str(tmp_path), quiet=True)
        data = {"train": DataLoader(x, y, mini, shuffle=False, mean=(0.4,), std=(0.25,)),
                "valid": DataLoader(x, y, 32, shuffle=False, mean=(0.4,), std=(0.25,))}
        searcher = DartsSearcher(model, {"train": Optimizer(), "valid": Optimizer()}, data, hp)
        for p in model.get_parameters().values():
            p.grad.zero()
        searcher.accumulate(searcher.graph("search", mini, True), "train", hp.accum_train)
        grads.append(model.head._W.g.copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-7)


def test_pc_darts_search_learns_the_betas(tmp_path):
    """A tiny search of the DARTS space with partial channels (K=2) and edge
    normalization: the weight step leaves the betas alone, the architecture
    step moves them, and the run writes them with the alphas."""
    import json
    from nnabla_nas.contrib.classification import darts
    from nnabla_nas.utils.io import load_h5_parameters
    from .conftest import tiny_loaders, tiny_optimizers
    model = darts.SearchNet(2, 4, 3, 2, num_choices=2, multiplier=2, stem_multiplier=1,
                            shared=True, partial_channels=2, edge_normalization=True)
    hp = Hparams(epoch=1, batch_size_train=16, batch_size_valid=16, seed=0,
                 output_path=str(tmp_path), quiet=True)
    searcher = DartsSearcher(model, tiny_optimizers(), tiny_loaders(), hp)
    betas = {k: p for k, p in searcher.arch_parameters.items() if k.startswith("beta_")}
    assert sorted(betas) == ["beta_normal/0", "beta_normal/1", "beta_reduce/0",
                             "beta_reduce/1"]
    before = {k: p.d.copy() for k, p in betas.items()}
    searcher.train_on_batch()
    assert all(np.array_equal(p.d, before[k]) for k, p in betas.items())
    searcher.valid_on_batch()
    moved = [k for k, p in betas.items() if not np.allclose(p.d, before[k], atol=1e-6)]
    assert moved == sorted(betas), moved
    searcher.run()
    saved = load_h5_parameters(str(tmp_path / "arch.h5"))
    np.testing.assert_array_equal(saved["beta_reduce/1"], model.beta_reduce[1].d)
    genotype = json.loads((tmp_path / "arch.json").read_text())
    assert genotype == model.genotype()
    assert all("edge_weight" in e for node in genotype["normal"] for e in node)
