"""Tests of the MobileNetV2 `TrainNet`: the plain MobileNetV2, the argmax of a
searched ``arch.h5``, and its error messages."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.mobilenet import CIFAR_SETTINGS, SearchNet, TrainNet
from nnabla_nas.contrib.classification.mobilenet.blocks import InvertedResidual

from .conftest import TINY, make_input, plant


def count(params):
    return sum(int(np.prod(p.shape)) for p in params.values())


def test_plain_mobilenet_v2_parameter_count_by_hand():
    net = TrainNet(num_classes=10, settings=[[24, 1, 2], [24, 1, 1]])
    assert net.ops == ["MB6 3x3", "MB6 3x3"] and net.get_arch_parameters() == {}
    bn = 2                                                  # _beta and _gamma per channel
    expected = (
        3 * 32 * 9 + bn * 32                                # stem: 3x3 conv 3 -> 32, BN
        + 32 * 9 + bn * 32 + 32 * 16 + bn * 16              # MB1 3x3: dw 32, project -> 16
        + 16 * 96 + bn * 96 + 96 * 9 + bn * 96 + 96 * 24 + bn * 24      # MB6 3x3 16 -> 24
        + 24 * 144 + bn * 144 + 144 * 9 + bn * 144 + 144 * 24 + bn * 24  # MB6 3x3 24 -> 24
        + 24 * 1280 + bn * 1280                             # 1x1 conv -> 1280, BN
        + 1280 * 10 + 10)                                   # classifier
    assert count(net.get_net_parameters(grad_only=True)) == expected == 61_882
    bn_channels = 32 + 32 + 16 + 96 + 96 + 24 + 144 + 144 + 24 + 1280
    assert count(net.get_net_parameters()) == expected + 2 * bn_channels   # + running stats
    assert [b.residual for b in net.blocks] == [False, True]


def test_plain_mobilenet_v2_on_imagenet_has_the_published_size():
    net = TrainNet()
    assert len(net.blocks) == 16
    # 3,504,872 trainable parameters: the reference MobileNetV2 (torchvision's count).
    assert count(net.get_net_parameters(grad_only=True)) == 3_504_872


def test_cifar_output_shape_and_eval_is_deterministic():
    net = TrainNet(10, width_mult=0.25, settings=CIFAR_SETTINGS, drop_rate=0.2,
                   stem_stride=1)
    x = make_input((2, 3, 32, 32))
    net.apply(training=False)
    y = net(x)
    nn.forward_all([y])
    first = y.d.copy()
    y.forward()
    assert y.shape == (2, 10)
    np.testing.assert_array_equal(first, y.d)


def dw_conv(block):
    return next(m for m in block.conv if isinstance(m, Mo.DwConv))


def test_train_net_takes_the_argmax_of_a_search(tmp_path):
    search = SearchNet(10, width_mult=0.5, settings=TINY)
    plant(search, [6, 4, 2, 3])                   # skip, MB6 5x5, MB3 7x7, MB6 3x3
    search.save_arch(str(tmp_path))
    net = TrainNet(10, width_mult=0.5, settings=TINY, genotype=str(tmp_path / "arch.h5"))
    assert net.ops == ["skip", "MB6 5x5", "MB3 7x7", "MB6 3x3"]
    assert net.genotype() == search.genotype()
    assert isinstance(net.blocks[0], Mo.Identity)
    # Block 1: 16 -> 8 channels at width 0.5 -> 8 -> 8; block 2: 8 -> 8, stride 2.
    assert isinstance(net.blocks[1], InvertedResidual)
    assert dw_conv(net.blocks[1])._W.shape == (48, 5, 5)
    assert dw_conv(net.blocks[2])._W.shape == (24, 7, 7)
    assert dw_conv(net.blocks[2])._stride == (2, 2)
    assert dw_conv(net.blocks[3])._W.shape == (48, 3, 3)
    assert net.blocks[1].conv[0]._W.shape == (48, 8, 1, 1)
    y = net(make_input((2, 3, 16, 16)))
    y.forward()
    assert y.shape == (2, 10)


def test_genotype_may_be_a_mapping_of_alphas():
    search = SearchNet(10, settings=TINY, candidates=["MB3 5x5", "MB6 7x7"])
    plant(search, [1, 0, 1, 2])
    alphas = {k: p.d for k, p in search.get_arch_parameters().items()}
    net = TrainNet(10, settings=TINY, candidates=["MB6 7x7", "MB3 5x5"], genotype=alphas)
    assert net.ops == ["MB6 7x7", "MB3 5x5", "MB6 7x7", "skip"]


@pytest.fixture
def arch_h5(tmp_path):
    SearchNet(10, settings=TINY).save_arch(str(tmp_path))
    return str(tmp_path / "arch.h5")


def test_bad_genotypes_are_one_line_errors_naming_the_file(tmp_path, arch_h5):
    missing = str(tmp_path / "nothing.h5")
    text = tmp_path / "arch.json"
    cases = [
        (dict(genotype=missing), f"genotype file '{missing}' does not exist; give the arch.h5"),
        (dict(genotype=str(tmp_path)), f"genotype file '{tmp_path}' is not a file"),
        (dict(genotype=str(text)), f"'{text}' is not a readable .h5 parameter file"),
        (dict(settings=TINY + [[16, 1, 1]], genotype=arch_h5),
         f"genotype file '{arch_h5}' has no alpha 'blocks/4/_alpha' "
         r"\(1 missing\): the network has 5 searchable blocks"),
        (dict(settings=TINY[:2], genotype=arch_h5),
         f"genotype file '{arch_h5}' has an unexpected alpha 'blocks/2/_alpha' "
         r"\(2 extra\): the network has 2 searchable blocks"),
        (dict(settings=TINY, skip_connect=False, genotype=arch_h5),
         f"genotype file '{arch_h5}': alpha 'blocks/0/_alpha' has shape "
         r"\(7, 1, 1, 1, 1\), but the block's candidates are MB3 3x3, .*MB6 7x7 "
         r"\(shape \(6, 1, 1, 1, 1\)\)"),
        (dict(settings=TINY, candidates=["MB6 3x3"], genotype=arch_h5),
         "alpha 'blocks/0/_alpha' has shape .* candidates are MB6 3x3, skip"),
        (dict(settings=TINY, candidates=["MB7 3x3"]), "unknown candidate 'MB7 3x3'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            TrainNet(10, **kwargs)
        assert "\n" not in str(info.value)
