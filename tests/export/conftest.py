"""Tiny networks of the three search spaces, with trained-looking batch-norm
statistics, and the digits test split (1x8x8 images)."""

import copy

import numpy as np
import pytest

from nnabla_nas.contrib import darts, mobilenet, pnas
from nnabla_nas.contrib.classification.darts.ops import CANDIDATES
from nnabla_nas.dataset import build_dataset

from contrib.classification.darts.conftest import DARTS_V2  # tests/ is on sys.path


def randomize(net, seed=0):
    """Random weights and running statistics: a network in training mode (batch
    statistics) gives outputs far from one in inference mode."""
    rng = np.random.RandomState(seed)
    for name, p in net.get_parameters().items():
        value = rng.uniform(0.5, 2.0, p.shape) if name.endswith("_var") else \
            rng.randn(*p.shape) * 0.3
        p.d = value.astype(np.float32)  # float32 as trained weights (float64 would stick)
    return net


def darts_net():
    """DARTS-V2 cells with an average pooling in each cell type (including_pad=False)
    and a FactorizedReduce edge in the reduction cells; auxiliary head and drop-path on."""
    genotype = copy.deepcopy(DARTS_V2)
    genotype["normal"][0][0]["op"] = "avg_pool_3x3"
    genotype["reduce"][0][0]["op"] = "avg_pool_3x3"
    genotype["reduce"][0][1]["op"] = "skip_connect"
    return darts.TrainNet(1, 4, 3, 10, genotype, stem_multiplier=2, auxiliary=True,
                          drop_path=0.3)


def pnas_net(folder):
    """The argmax network of a planted ProxylessNAS search (its arch.h5)."""
    search = pnas.SearchNet(1, 2, 3, 10, num_choices=2, multiplier=2)
    rng = np.random.RandomState(1)
    for cell in search.cells:
        for mixed in cell._mixed:
            d = rng.randn(len(CANDIDATES))
            d[CANDIDATES.index("none")] = -5
            mixed._alpha.d = d.reshape(-1, 1, 1, 1, 1)
    search.save_arch(str(folder))
    return pnas.TrainNet(1, 4, 3, 10, str(folder / "arch.h5"), num_choices=2, multiplier=2,
                         stem_multiplier=2)


def mobilenet_net(folder):
    """MobileNetV2 blocks chosen by a planted search (3x3, 5x5 and 7x7 kernels)."""
    settings = [[8, 1, 1], [16, 2, 2]]
    search = mobilenet.SearchNet(10, width_mult=0.5, settings=settings, in_channels=1,
                                 stem_stride=1)
    for block, index in zip(search.blocks, (1, 2, 5)):
        d = np.zeros(block._alpha.shape)
        d[index] = 3.0
        block._alpha.d = d
    search.save_parameters(str(folder / "arch.h5"), search.get_arch_parameters())
    return mobilenet.TrainNet(10, width_mult=0.5, settings=settings, in_channels=1,
                              stem_stride=1, genotype=str(folder / "arch.h5"))


SPACES = {"darts": lambda folder: darts_net(), "pnas": pnas_net, "mobilenet": mobilenet_net}


@pytest.fixture(scope="session")
def digits():
    """The bundled digits dataset (test split: 359 images of 1x8x8)."""
    return build_dataset({"digits": {}})


@pytest.fixture(params=sorted(SPACES))
def space_net(request, tmp_path):
    """(space name, a tiny randomized network of that space)."""
    return request.param, randomize(SPACES[request.param](tmp_path))
