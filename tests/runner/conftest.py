"""A tiny planted classification task shared by the runner tests."""

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.classification.base import ClassificationModel
from nnabla_nas.dataset import DataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.hparams import Hparams


class TinyNet(ClassificationModel):
    """A 2x2 average pool, a choice between 3x3 max pooling and identity, a linear head."""

    def __init__(self):
        self.pool = Mo.AvgPool((2, 2), stride=(2, 2))
        self.choice = Mo.MixedOp([Mo.MaxPool((3, 3), stride=(1, 1), pad=(1, 1)),
                                  Mo.Identity()], rng=np.random.RandomState(1))
        self.head = Mo.Linear(2 * 2 * 2, 2, rng=np.random.RandomState(0))

    def call(self, x):
        return self.head(self.choice(self.pool(x)))


def planted(n: int, seed: int):
    """4x4 two-channel images; the label is the brighter channel."""
    rng = np.random.RandomState(seed)
    x = rng.randint(0, 120, size=(n, 4, 4, 2)).astype(np.uint8)
    y = rng.randint(0, 2, size=n)
    x[np.arange(n), :, :, y] += 100
    return x, y


def tiny_loaders(seed: int = 0, splits=("train", "valid"), n: int = 64):
    x, y = planted(n * len(splits), seed)
    common = dict(mean=(0.5,), std=(0.25,))
    return {split: DataLoader(x[i * n:(i + 1) * n], y[i * n:(i + 1) * n], 16,
                              shuffle=split != "test", rng=seed + i, **common)
            for i, split in enumerate(splits)}


def tiny_optimizers(search: bool = True):
    opts = {"train": Optimizer(name="Momentum", lr=0.1, momentum=0.9,
                               lr_scheduler="CosineScheduler", max_iter=20)}
    if search:
        opts["valid"] = Optimizer(name="Adam", lr=0.05)
    return opts


@pytest.fixture
def hparams(tmp_path):
    """Two epochs of four steps of 16 samples, quiet, in ``tmp_path``."""
    return Hparams(epoch=2, batch_size_train=16, batch_size_valid=16, seed=0,
                   output_path=str(tmp_path / "run"), quiet=True)


def tiny_darts_searcher(tmp_path, num_cells: int = 2, shared: bool = True, **options):
    """A DartsSearcher of a DARTS supernet of ``num_cells`` 2-node cells (batch norm
    included) on 8x8 one-channel images, 32 per split, 3 classes; ``options``
    go to the searcher, or to :class:`Hparams` for its fields."""
    from nnabla_nas.contrib.classification import darts
    from nnabla_nas.runner import DartsSearcher
    rng = np.random.RandomState(0)
    x = rng.randint(0, 255, size=(64, 8, 8, 1)).astype(np.uint8)
    y = rng.randint(0, 3, 64)
    common = dict(mean=(0.5,), std=(0.25,), shuffle=True)
    data = {"train": DataLoader(x[:32], y[:32], 8, rng=0, **common),
            "valid": DataLoader(x[32:], y[32:], 8, rng=1, **common)}
    net = darts.SearchNet(1, 2, num_cells, 3, num_choices=2, multiplier=2, stem_multiplier=1,
                          shared=shared)
    fields = {k: options.pop(k) for k in list(options) if k in Hparams.__dataclass_fields__}
    hp = Hparams(**{**dict(epoch=1, batch_size_train=16, mini_batch_train=8,
                           batch_size_valid=8, output_path=str(tmp_path), quiet=True),
                    **fields})
    optimizers = {"train": Optimizer(name="Momentum", lr=0.1, momentum=0.9),
                  "valid": Optimizer(name="Adam", lr=0.05)}
    return DartsSearcher(net, optimizers, data, hp, **options)
