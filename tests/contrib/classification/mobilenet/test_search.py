"""Tests of the MobileNetV2 `SearchNet`."""

import inspect

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib import mobilenet
from nnabla_nas.contrib.classification import mobilenet as classification_mobilenet
from nnabla_nas.contrib.classification.mobilenet import (CANDIDATES, CIFAR_SETTINGS, SKIP,
                                                         SearchNet, TrainNet)
from nnabla_nas.contrib.classification.mobilenet.blocks import InvertedResidual
from nnabla_nas.utils.registry import check_kwargs

from .conftest import TINY, make_input, make_labels, mixed_ops


def test_both_import_paths_give_the_same_classes():
    assert mobilenet.SearchNet is classification_mobilenet.SearchNet is SearchNet
    assert mobilenet.TrainNet is classification_mobilenet.TrainNet is TrainNet
    assert mobilenet.CANDIDATES == CANDIDATES
    assert mobilenet.CIFAR_SETTINGS == CIFAR_SETTINGS


def test_signatures_keep_the_api_order():
    assert list(inspect.signature(SearchNet).parameters) == [
        "num_classes", "width_mult", "settings", "drop_rate", "candidates", "mode",
        "skip_connect", "stem_stride", "in_channels", "share_kernels"]  # (new ones last)
    assert list(inspect.signature(TrainNet).parameters) == [
        "num_classes", "width_mult", "settings", "drop_rate", "candidates", "skip_connect",
        "genotype", "stem_stride", "in_channels"]


def test_config_values_pass_the_cli_type_checks():
    options = {"num_classes": 10, "width_mult": 0.35, "settings": [[16, 1, 1]],
               "drop_rate": 0.1, "candidates": ["MB3 3x3"], "mode": "sample",
               "skip_connect": False, "stem_stride": 1, "in_channels": 3, "share_kernels": False}
    check_kwargs(SearchNet, options, "network.mobilenet")
    SearchNet(**options)
    options.pop("mode")
    options.pop("share_kernels")  # (search only, as mode)
    check_kwargs(TrainNet, dict(options, width_mult=1, genotype="arch.h5"), "network.mobilenet")


def test_cifar_output_shape_loss_and_gradients():
    net = SearchNet(10, width_mult=0.25, settings=CIFAR_SETTINGS, stem_stride=1)
    assert len(mixed_ops(net)) == 16
    x, t = make_input((2, 3, 32, 32)), make_labels([3, 8])
    y = net(x)
    assert y.shape == (2, 10)
    loss = net.loss(y, t)
    loss.forward()
    loss.backward(clear_buffer=True)
    assert np.isfinite(loss.d)
    # REINFORCE score function in every block: softmax(alpha) - onehot(sampled).
    for block in net.blocks:
        expected = block.probabilities()
        expected[block.active_index] -= 1
        np.testing.assert_allclose(block._alpha.g.ravel(), expected, rtol=1e-6)


def test_imagenet_forward_with_tiny_settings():
    net = SearchNet(1000, width_mult=0.25, settings=[[8, 1, 2], [16, 1, 2]])
    y = net(make_input((1, 3, 224, 224)))
    y.forward()
    assert y.shape == (1, 1000) and np.isfinite(y.d).all()
    assert net.last_conv.input_shapes == [(1, 8, 28, 28)]     # 224 / 2 (stem) / 2 / 2
    assert net.last_conv[0]._W.shape == (1280, 8, 1, 1)       # 16 * 0.25 rounds up to 8


def test_stride_and_channels_of_the_backbone():
    net = SearchNet(10, width_mult=1.5, settings=[[24, 1, 2]], stem_stride=2, in_channels=1)
    assert net.stem[0]._W.shape == (48, 1, 3, 3)                # 32 * 1.5
    assert net.first_block.name == "MB1 3x3" and net.first_block.out_channels == 24
    assert net.last_conv[0]._W.shape == (1920, 40, 1, 1)        # 1280 * 1.5; 24 * 1.5 -> 40
    y = net(make_input((2, 1, 16, 16)))
    y.forward()
    assert y.shape == (2, 10)
    assert [b.input_shapes[0][2] for b in net.blocks] == [8]    # stem stride 2


@pytest.mark.parametrize("skip_connect", [True, False])
def test_candidates_per_block_and_skip_only_where_shapes_allow(skip_connect):
    net = SearchNet(10, settings=TINY, skip_connect=skip_connect)
    blocks = mixed_ops(net)
    assert blocks == list(net.blocks) and len(blocks) == 4
    keeps_shape = [True, False, False, True]
    assert [spec.keeps_shape for spec in net.specs] == keeps_shape
    for block, names, keeps in zip(blocks, net.candidate_names, keeps_shape):
        with_skip = skip_connect and keeps
        assert names == CANDIDATES + ((SKIP,) if with_skip else ())
        assert len(block._ops) == len(names) == block._alpha.shape[0]
        assert all(isinstance(op, InvertedResidual) for op in block._ops[:6])
        assert [op.name for op in block._ops[:6]] == list(CANDIDATES)
        assert isinstance(block._ops[-1], Mo.Identity) is with_skip


def test_candidate_subset_in_canonical_order():
    net = SearchNet(10, settings=TINY, candidates=["MB6 7x7", "MB3 3x3"])
    assert net.candidate_names == [("MB3 3x3", "MB6 7x7", SKIP), ("MB3 3x3", "MB6 7x7"),
                                   ("MB3 3x3", "MB6 7x7"), ("MB3 3x3", "MB6 7x7", SKIP)]
    assert [op.kernel for op in net.blocks[1]._ops] == [3, 7]


def test_arch_parameters_are_one_alpha_per_block():
    net = SearchNet(10, settings=TINY)
    arch = net.get_arch_parameters()
    assert list(arch) == [f"blocks/{i}/_alpha" for i in range(4)]
    assert [p.shape[0] for p in arch.values()] == [7, 6, 6, 7]
    everything, weights = net.get_parameters(), net.get_net_parameters()
    assert set(arch) | set(weights) == set(everything) and not set(arch) & set(weights)
    assert all(np.all(p.d == 0) for p in arch.values())       # uniform at the start


def block_of(name):
    """``(block, candidate)`` indices of a parameter name under ``blocks/``."""
    parts = name.split("/")
    return int(parts[1]), int(parts[3])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_mode_trains_only_the_sampled_candidates(seed):
    np.random.seed(seed)
    net = SearchNet(10, width_mult=0.5, settings=TINY, mode="sample", share_kernels=False)
    y = net(make_input((2, 3, 16, 16)))
    y.forward()
    active = [block.active_index for block in net.blocks]
    assert None not in active
    trainable = net.get_net_parameters(grad_only=True)
    in_blocks = [k for k in trainable if k.startswith("blocks/")]
    assert {block_of(k) for k in in_blocks} == \
        {(i, a) for i, a in enumerate(active) if not isinstance(net.blocks[i]._ops[a],
                                                                 Mo.Identity)}
    expected = sum(len([k for k, p in net.blocks[i]._ops[a].get_parameters().items()
                        if p.need_grad]) for i, a in enumerate(active))
    assert len(in_blocks) == expected
    # Stem, fixed block and head always train.
    assert [k for k in trainable if k.startswith("stem/")] == ["stem/0/_W", "stem/1/_beta",
                                                               "stem/1/_gamma"]
    assert "classifier/_W" in trainable and "last_conv/0/_W" in trainable


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shared_kernels_train_the_sampled_candidate_and_the_weights_it_reads(seed):
    """With share_kernels every inverted residual of a block reads MB6 7x7's
    convolution weights: a sampled step trains those and the drawn candidate's
    own batch normalization, and nothing else (not MB6 7x7's batch
    normalization, which the graph does not use, unless it was drawn)."""
    np.random.seed(seed)
    net = SearchNet(10, width_mult=0.5, settings=TINY, mode="sample", share_kernels=True)
    owner = CANDIDATES.index("MB6 7x7")
    y = net(make_input((2, 3, 16, 16)))
    y.forward()
    trainable = net.get_net_parameters(grad_only=True)
    used = {block_of(k) for k in trainable if k.startswith("blocks/")}
    expected = set()
    for i, block in enumerate(net.blocks):
        if not isinstance(block.active_op, Mo.Identity):
            expected |= {(i, block.active_index), (i, owner)}
    assert used == expected
    for i, a in expected:
        own = [k for k in trainable if k.startswith("blocks/") and block_of(k) == (i, a)]
        assert any(k.endswith("_W") for k in own) == (a == owner)
        drawn = net.blocks[i].active_index
        if a == owner and drawn != owner:  # lent: its convolutions only
            assert own and all(k.endswith("_W") for k in own), own
        if a == drawn:  # drawn: its batch normalization too
            assert any(k.endswith("_gamma") for k in own), own


@pytest.mark.parametrize("mode", ["full", "max"])
def test_mode_reaches_every_mixed_op(mode):
    net = SearchNet(10, width_mult=0.25, settings=TINY, mode=mode)
    assert {op.mode for op in mixed_ops(net)} == {mode}
    y = net(make_input((2, 3, 8, 8)))
    y.forward()
    assert y.shape == (2, 10)
    expected = None if mode == "full" else 0                  # argmax of zeros: first
    assert [op.active_index for op in mixed_ops(net)] == [expected] * 4
    if mode == "full":                                        # DARTS: alpha gets a gradient
        loss = net.loss(y, make_labels([0, 1]))
        loss.forward()
        for p in net.get_parameters().values():
            p.grad.zero()
        loss.backward()
        assert all(np.abs(p.g).sum() > 0 for p in net.get_arch_parameters().values())


def test_bad_arguments_are_one_line_value_errors():
    cases = [
        (dict(mode="random"), "mode must be one of full, sample, max, got 'random'"),
        (dict(candidates=["MB6 3x3", "MB4 3x3"]),
         "unknown candidate 'MB4 3x3'; valid names: MB3 3x3, MB3 5x5, MB3 7x7, MB6 3x3, "
         "MB6 5x5, MB6 7x7"),
        (dict(candidates=["skip"]), r"unknown candidate 'skip' \(use skip_connect"),
        (dict(candidates=[]), "candidates must be a non-empty list"),
        (dict(candidates="MB6 3x3"), "candidates must be a non-empty list"),
        (dict(candidates=["MB6 3x3", "MB6 3x3"]), "repeat a name"),
        (dict(settings=[[24, 2]]), r"settings row \[24, 2\] is not \[channels >= 1"),
        (dict(settings=[[24, 2, 0]]), r"settings row \[24, 2, 0\] is not"),
        (dict(settings=[[24, 0, 1]]), "have no block"),
        (dict(settings="cifar"), "settings must be a list of"),
        (dict(width_mult=0), "width_mult must be a number > 0, got 0"),
        (dict(drop_rate=1.0), r"drop_rate must be a number in \[0, 1\), got 1.0"),
        (dict(num_classes=0), "num_classes must be an integer >= 1, got 0"),
        (dict(stem_stride=1.5), "stem_stride must be an integer >= 1, got 1.5"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            SearchNet(**kwargs)
        assert "\n" not in str(info.value)


def test_summary_and_repr():
    net = SearchNet(10, settings=TINY, mode="sample")
    assert "26 arch parameters in 4 arrays, 4 MixedOps" in net.summary()
    assert "num_blocks=4, mode=sample" in repr(net)
