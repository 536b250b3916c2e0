"""Worker for NNablaNAS 0.9.0 (the old package), run by ``bench/compare.py`` under
``bench/.old-venv``.

It drives the old package's own classes on the CPU, bypassing only its command
line (which needs the CUDA extension):

* network: ``nnabla_nas.contrib.darts.SearchNet`` (``pnas.SearchNet`` is the same class);
* searchers: ``runner.searcher.DartsSearcher`` / ``ProxylessNasSearcher``, set up by
  their ``callback_on_start()`` and stepped by ``train_on_batch()`` +
  ``valid_on_batch()``, exactly as their ``Searcher.run()`` loop does;
* ``optimizer.Optimizer`` for both solvers;
* ``args``: the hyper-parameter dict their ``Configuration`` builds, with their
  ``CommunicatorWrapper`` (a single process on a CPU context; ``event`` is only
  used with several processes);
* data: a :class:`RandomBatches` subclass of their ``BaseDataLoader`` serving
  random CIFAR-shaped batches in the dict layout their runners read.

Usage (normally through compare.py)::

    bench/.old-venv/bin/python bench/old_nas.py --task darts-step --steps 5
"""

import nnabla as nn
import numpy as np
from nnabla.ext_utils import get_extension_context

import harness
import nnabla_nas
from nnabla_nas.contrib import darts, pnas
from nnabla_nas.dataset.dataloader import BaseDataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import DartsSearcher, ProxylessNasSearcher
from nnabla_nas.utils.helper import CommunicatorWrapper

assert nnabla_nas.__version__ == "0.9.0", (nnabla_nas.__version__, nnabla_nas.__file__)


class RandomBatches(BaseDataLoader):
    """Random images (scaled to 0..1) and labels, cycled in batches of ``batch_size``."""

    def __init__(self, batch_size: int, count: int = 256, seed: int = 0):
        images, labels = harness.random_images(count, seed)
        self._x = (images.transpose(0, 3, 1, 2) / 255.0).astype(np.float32)
        self._y = labels.reshape(-1, 1).astype(np.int32)
        self._batch_size = batch_size
        self._pos = 0

    def next(self):
        if self._pos + self._batch_size > len(self._x):
            self._pos = 0
        index = slice(self._pos, self._pos + self._batch_size)
        self._pos += self._batch_size
        return {"inputs": [self._x[index]], "targets": [self._y[index]]}

    def __len__(self):
        return len(self._x)


def hparams(batch_size: int) -> dict:
    """The ``args`` dict the old runners read (their ``Configuration`` defaults)."""
    return {
        "batch_size_train": batch_size, "mini_batch_train": batch_size,
        "batch_size_valid": batch_size, "mini_batch_valid": batch_size,
        "epoch": 1, "warmup": 0, "print_frequency": 20, "loss_weights": None,
        "input_shapes": [[harness.IN_CHANNELS, harness.IMAGE_SIZE, harness.IMAGE_SIZE]],
        "target_shapes": [[1]],
        "comm": CommunicatorWrapper(get_extension_context("cpu")),
        "event": None,
        "output_path": harness.scratch_folder(),
    }


class OldDriver(harness.Driver):
    package = nnabla_nas.__version__
    source = nnabla_nas.__file__

    @staticmethod
    def _searcher(cls, model, algorithm: str, batch_size: int):
        optimizers = {k: Optimizer(**v) for k, v in harness.OPTIMIZERS[algorithm].items()}
        loaders = {"train": RandomBatches(batch_size, seed=1),
                   "valid": RandomBatches(batch_size, seed=2)}
        searcher = cls(model, optimizer=optimizers, dataloader=loaders,
                       args=hparams(batch_size))
        searcher.callback_on_start()
        return searcher

    def darts_step(self, init_channels, num_cells, batch_size):
        model = darts.SearchNet(harness.IN_CHANNELS, init_channels, num_cells,
                                harness.NUM_CLASSES, mode="full", shared=True)
        searcher = self._searcher(DartsSearcher, model, "darts", batch_size)

        def step():
            searcher.train_on_batch()
            searcher.valid_on_batch()
        return step

    def pnas_step(self, init_channels, num_cells, batch_size):
        model = pnas.SearchNet(harness.IN_CHANNELS, init_channels, num_cells,
                               harness.NUM_CLASSES, mode="sample", shared=False)
        searcher = self._searcher(ProxylessNasSearcher, model, "pnas", batch_size)

        def step():
            searcher.train_on_batch()
            searcher.valid_on_batch()  # samples N_ITER = 10 architectures (fixed there)
        return step

    def sampled_graph(self, init_channels, num_cells, batch_size):
        model = pnas.SearchNet(harness.IN_CHANNELS, init_channels, num_cells,
                               harness.NUM_CLASSES, mode="sample", shared=False)
        model.apply(training=True)
        shape = (batch_size, harness.IN_CHANNELS, harness.IMAGE_SIZE, harness.IMAGE_SIZE)

        def build():
            x, t = nn.Variable(shape), nn.Variable((batch_size, 1))
            model.loss([model(x)], [t])
        return build


if __name__ == "__main__":
    harness.main(OldDriver())
