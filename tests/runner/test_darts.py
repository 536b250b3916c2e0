"""DartsSearcher on planted tasks: it must find the op that solves them; its
variants (second order, beta-decay) against numerical references."""

import json
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

from .conftest import planted, tiny_darts_searcher

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
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["alphas_moved"] is True and "warning" not in results  # the monitor agrees
    assert "warning" not in (tmp_path / "log.txt").read_text()


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


# -- variants: second order, beta-decay ----------------------------------------------------
class SmoothNet(ClassificationModel):
    """Three choice points of smooth operations (the third shares the first's
    alpha) and a linear head: the loss is smooth in the weights and in alpha."""

    def __init__(self):
        rng = np.random.RandomState(0)
        self.first = Mo.MixedOp([Mo.Conv(2, 2, (1, 1), rng=rng),
                                 Mo.AvgPool((3, 3), stride=(1, 1), pad=(1, 1)), Mo.Identity()])
        self.second = Mo.MixedOp([Mo.Conv(2, 2, (3, 3), pad=(1, 1), rng=rng),
                                  Mo.Lambda(F.sin), Mo.Identity()])
        self.third = Mo.MixedOp([Mo.Conv(2, 2, (1, 1), rng=rng), Mo.Lambda(F.sin),
                                 Mo.Identity()], alpha=self.first.alpha)
        self.head = Mo.Linear(2 * 4 * 4, 2, rng=rng)
        for alpha in (self.first.alpha, self.second.alpha):
            alpha.d = rng.randn(*alpha.shape)

    def call(self, x):
        return self.head(self.third(self.second(self.first(x))))


def fixed_batches():
    """Each split is one batch of 16 images, the same at every ``next()``."""
    x, y = planted(32, 5)
    common = dict(mean=(0.5,), std=(0.25,), shuffle=False)
    return {"train": DataLoader(x[:16], y[:16], 16, **common),
            "valid": DataLoader(x[16:], y[16:], 16, **common)}


def smooth_searcher(tmp_path, xi, **options):
    model = SmoothNet()
    hp = Hparams(epoch=1, batch_size_train=16, batch_size_valid=16,
                 output_path=str(tmp_path), quiet=True)
    optimizers = {"train": Optimizer(name="Sgd", lr=xi), "valid": Optimizer(name="Sgd", lr=0.1)}
    return DartsSearcher(model, optimizers, fixed_batches(), hp, **options)


def arch_gradient(searcher):
    alphas = list(searcher.arch_parameters.values())
    for alpha in alphas:
        alpha.grad.zero()
    searcher.arch_gradient()
    return np.concatenate([a.g.ravel() for a in alphas])


def unrolled_loss(model, batches, xi):
    """``L_val(w - xi * grad_w L_train(w, alpha), alpha)`` by an explicit virtual
    step on a graph of its own; the weights are given back."""
    from nnabla_nas.runner.graph import build_graph
    graph = build_graph(model, 16, (2, 4, 4))
    weights = list(model.get_net_parameters().values())
    saved = [w.d.copy() for w in weights]
    for w in weights:
        w.grad.zero()
    graph.feed(batches["train"])
    graph.forward()
    graph.loss.backward()
    for w, w0 in zip(weights, saved):
        w.d = w0 - xi * w.g
    graph.feed(batches["valid"])
    loss, _ = graph.forward()
    for w, w0 in zip(weights, saved):
        w.d = w0
    return loss


def test_second_order_gradient_is_the_derivative_through_a_virtual_step(tmp_path):
    xi = 0.5
    searcher = smooth_searcher(tmp_path, xi, second_order=True)
    model = searcher.model
    batches = {k: v.next() for k, v in fixed_batches().items()}
    unrolled = arch_gradient(searcher)
    searcher.second_order = False
    first = arch_gradient(searcher)
    # Central differences of the unrolled loss in each entry of each distinct alpha.
    alphas = list(searcher.arch_parameters.values())
    assert len(alphas) == 2  # the third choice point shares the first's alpha
    h = 3e-3
    reference = []
    for alpha in alphas:
        base = alpha.d.copy()
        for i in range(alpha.size):
            values = []
            for step in (h, -h):
                shifted = base.copy()
                shifted.flat[i] += step
                alpha.d = shifted
                values.append(unrolled_loss(model, batches, xi))
            alpha.d = base
            reference.append((values[0] - values[1]) / (2 * h))
    reference = np.array(reference)
    scale = np.abs(reference).max()
    np.testing.assert_allclose(unrolled, reference, rtol=1e-2, atol=1e-2 * scale)
    # The virtual step matters here: the first-order gradient is far from it.
    assert np.abs(first - reference).max() > 10 * 1e-2 * scale


def test_second_order_step_gives_the_weights_back_bit_for_bit(tmp_path):
    searcher = tiny_darts_searcher(tmp_path, second_order=True)
    net = searcher.model
    searcher.train_on_batch()
    weights = {k: p.d.copy() for k, p in net.get_net_parameters().items()}  # + BN stats
    flags = {k: p.need_grad for k, p in net.get_parameters().items()}
    alphas = {k: p.d.copy() for k, p in net.get_arch_parameters().items()}
    searcher.valid_on_batch()
    for key, value in weights.items():
        np.testing.assert_array_equal(net.get_net_parameters()[key].d, value, err_msg=key)
    assert {k: p.need_grad for k, p in net.get_parameters().items()} == flags
    assert any(not np.array_equal(p.d, alphas[k]) for k, p in net.get_arch_parameters().items())


def test_second_order_uses_the_weight_step_batches(tmp_path):
    """A step of the second order draws no more training data than a first-order
    one, and its weight step is the same update."""
    loaders, weights = [], []
    for second_order in (False, True):
        nn.clear_parameters()
        np.random.seed(0)
        nn.random.seed(0)
        searcher = tiny_darts_searcher(tmp_path / str(second_order), second_order=second_order)
        searcher.train_on_batch()
        weights.append({k: p.d.copy() for k, p in searcher.net_parameters.items()})
        searcher.valid_on_batch()
        loaders.append({k: v.state_dict() for k, v in searcher.dataloader.items()})
    assert repr(loaders[0]) == repr(loaders[1])
    for key, value in weights[0].items():
        np.testing.assert_array_equal(weights[1][key], value, err_msg=key)


def logsumexp_mean(alphas):
    """The beta-decay regularizer in float64: mean over alphas of logsumexp."""
    return float(np.mean([np.log(np.sum(np.exp(np.asarray(a, np.float64)))) for a in alphas]))


def test_beta_decay_adds_the_gradient_of_mean_logsumexp(tmp_path):
    lam = 0.7
    searcher = smooth_searcher(tmp_path, 0.1)
    plain = arch_gradient(searcher)
    searcher.beta_decay = lam
    decayed = arch_gradient(searcher)
    alphas = [a.d.ravel().astype(np.float64) for a in searcher.arch_parameters.values()]
    # Two distinct alphas (the third choice point shares the first's): n = 2.
    analytic = np.concatenate([lam * np.exp(a) / np.exp(a).sum() / 2 for a in alphas])
    np.testing.assert_allclose(decayed, plain + analytic, rtol=1e-5, atol=1e-7)
    # The added term is the derivative of lam * mean logsumexp, by central differences.
    h, numeric = 1e-5, []
    for i, a in enumerate(alphas):
        for j in range(a.size):
            sides = []
            for step in (h, -h):
                shifted = [b.copy() for b in alphas]
                shifted[i][j] += step
                sides.append(lam * logsumexp_mean(shifted))
            numeric.append((sides[0] - sides[1]) / (2 * h))
    np.testing.assert_allclose(decayed - plain, numeric, rtol=1e-4, atol=1e-6)


def test_variant_options_are_checked(tmp_path):
    from nnabla_nas.utils.registry import ConfigError
    with pytest.raises(ConfigError, match=r"DartsSearcher.beta_decay: must be a number of at "
                                          r"least 0"):
        smooth_searcher(tmp_path, 0.1, beta_decay=-1.0)
