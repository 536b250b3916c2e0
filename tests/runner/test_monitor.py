"""The collapse monitor: per-epoch architecture figures in metrics.csv and
TensorBoard, and the end-of-search warning when the alphas barely moved."""

import csv
import json
import math
import os

import numpy as np

from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner import DartsSearcher
from nnabla_nas.runner.searcher import monitor

from .conftest import TinyNet, tiny_darts_searcher, tiny_loaders


def softmax(a):
    e = np.exp(np.asarray(a, np.float64).ravel() - np.max(a))
    return e / e.sum()


def test_a_tiny_architecture_learning_rate_ends_with_the_warning(hparams):
    opts = {"train": Optimizer(name="Momentum", lr=0.1, momentum=0.9),
            "valid": Optimizer(name="Adam", lr=1e-5)}
    summary = DartsSearcher(TinyNet(), opts, tiny_loaders(), hparams).run()
    out = hparams.output_path
    results = json.load(open(os.path.join(out, "results.json")))
    assert results == json.loads(json.dumps(summary))
    assert results["alphas_moved"] is False and results["moved_share"] == 0.0
    assert results["choice_points"] == 1 and results["alpha_entropy"] > 0.9999
    text = results["warning"]
    for knob in ("optimizer.valid.lr", "now 1e-05", "hparams.epoch", "now 2", "0 of 1 choice"):
        assert knob in text, knob
    log = open(os.path.join(out, "log.txt")).read()
    assert f"warning: {text}" in log


def test_epoch_figures_are_those_of_the_exported_architecture(tmp_path):
    """Each search epoch's valid row holds the entropy and largest probability of
    the alphas that epoch exports (arch.h5), and the share of parameter-free
    operations in its genotype (arch.json) (pooling, and skip_connect except on a reduction
    cell's stride-2 edges, where it is a factorized reduction with convolutions)."""
    searcher = tiny_darts_searcher(tmp_path, num_cells=3, shared=False, epoch=2)
    net, exported = searcher.model, []

    def keep(folder):  # what arch.h5 and arch.json would hold (without the pictures' time)
        exported.append(({k: p.d.copy() for k, p in net.get_arch_parameters().items()},
                         net.genotype()))
    net.save_arch = keep
    searcher.run()
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["alpha_entropy"] == "" for r in rows] == [True, False, True, False]
    valid = [r for r in rows if r["split"] == "valid"]
    assert len(valid) == 2
    for row, (alphas, genotype) in zip(valid, exported):
        probs = [softmax(a) for a in alphas.values()]
        assert len(probs) == 3 * 5  # per cell: 2 + 3 edges
        entropy = np.mean([-(p * np.log(p)).sum() / math.log(8) for p in probs])
        assert float(row["alpha_entropy"]) == round(entropy, 6)
        assert float(row["alpha_max_prob"]) == round(np.mean([p.max() for p in probs]), 6)
        free = [e["op"] in ("max_pool_3x3", "avg_pool_3x3") or e["op"] == "skip_connect" and
                not (cell == "reduce" and e["input"] < 2)
                for cell in ("normal", "reduce") for node in genotype[cell] for e in node]
        assert len(free) == 2 * 2 * 2
        assert float(row["param_free_share"]) == round(np.mean(free), 6)
    assert entropy < 1  # the alphas moved: the test compares moving figures
    events = list((tmp_path / "tensorboard").iterdir())
    data = b"".join(p.read_bytes() for p in events)
    for key in monitor.EPOCH_FIGURES:
        assert f"arch/{key}".encode() in data, key


def test_figures_of_shared_and_single_operator_alphas():
    """A shared alpha counts once; a choice point of one operator is no choice."""
    from nnabla_nas import module as Mo
    shared = Mo.Parameter((3, 1, 1, 1, 1), initializer=np.array(
        [2.0, 0.0, 0.0]).reshape(3, 1, 1, 1, 1))
    ops = [Mo.MixedOp([Mo.Identity(), Mo.Identity(), Mo.Identity()], alpha=shared)
           for _ in range(3)]
    ops.append(Mo.MixedOp([Mo.Identity(), Mo.Identity()]))  # uniform, K = 2
    ops.append(Mo.MixedOp([Mo.Identity()]))
    figures = monitor.alpha_figures(monitor.choice_alphas(ops))
    p = softmax([2.0, 0.0, 0.0])
    assert figures["choice_points"] == 2
    np.testing.assert_allclose(figures["alpha_entropy"],
                               ((-(p * np.log(p)).sum() / math.log(3)) + 1.0) / 2)
    np.testing.assert_allclose(figures["alpha_max_prob"], (p.max() + 0.5) / 2)
    assert figures["moved_share"] == 0.5  # 0.79 >= 1.1/3; 0.5 < 1.1/2
    assert monitor.alphas_moved(figures)


def test_a_convolution_on_shared_kernels_is_not_parameter_free():
    """With share_kernels, sep_conv_3x3 holds no weight of its own (it reads
    sep_conv_5x5's) and its batch normalization is not affine: it still
    counts as a parametric operation."""
    from nnabla_nas.contrib.classification.darts.ops import CANDIDATES, build_candidates
    for share in (False, True):
        ops = build_candidates(4, 1, True, share_kernels=share)
        free = [name for name, op in zip(CANDIDATES, ops) if monitor.is_parameter_free(op)]
        assert free == ["max_pool_3x3", "avg_pool_3x3", "skip_connect", "none"], share
