"""Worker for this package, run by ``bench/compare.py`` under the project's ``.venv``.

It drives the package the way the README's Python API example and
``tests/runner/test_darts.py`` / ``test_pnas.py`` do: ``contrib.darts.SearchNet``
(DARTS) or ``contrib.pnas.SearchNet`` (ProxylessNAS), ``runner.DartsSearcher`` /
``ProxylessNasSearcher`` with ``optimizer.Optimizer``, ``runner.Hparams`` and
``dataset.DataLoader`` over random uint8 images; a step is
``searcher.train_on_batch()`` + ``searcher.valid_on_batch()``.

Usage (normally through compare.py)::

    .venv/bin/python bench/ours_nas.py --task darts-step --steps 5
"""

import nnabla as nn

import harness
import nnabla_nas
from nnabla_nas.contrib import darts, pnas
from nnabla_nas.dataset import DataLoader
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner import DartsSearcher, Hparams, ProxylessNasSearcher
from nnabla_nas.utils.context import set_context

set_context("cpu")  # as main.py does: the CPU context and the import shortcuts


def loaders(batch_size: int, count: int = 256) -> dict:
    """Search-train and search-valid loaders over random images (scaled to 0..1)."""
    result = {}
    for seed, split in ((1, "train"), (2, "valid")):
        images, labels = harness.random_images(count, seed)
        result[split] = DataLoader(images, labels, batch_size, shuffle=True, rng=seed)
    return result


class OursDriver(harness.Driver):
    package = nnabla_nas.__version__
    source = nnabla_nas.__file__

    @staticmethod
    def _searcher(cls, model, algorithm: str, batch_size: int):
        optimizers = {k: Optimizer(**v) for k, v in harness.OPTIMIZERS[algorithm].items()}
        hparams = Hparams(epoch=1, batch_size_train=batch_size, batch_size_valid=batch_size,
                          seed=0, quiet=True, output_path=harness.scratch_folder())
        options = ({"n_iter": harness.N_ITER, "baseline_decay": 0.9}
                   if cls is ProxylessNasSearcher else {})
        return cls(model, optimizers, loaders(batch_size), hparams, **options)

    def darts_step(self, init_channels, num_cells, batch_size):
        model = darts.SearchNet(harness.IN_CHANNELS, init_channels, num_cells,
                                harness.NUM_CLASSES, mode="full", shared=True)
        searcher = self._searcher(DartsSearcher, model, "darts", batch_size)

        def step():
            searcher.train_on_batch()
            searcher.valid_on_batch()
        return step

    def pnas_step(self, init_channels, num_cells, batch_size):
        # sampling="edges": every edge draws, as the old package's search does.
        model = pnas.SearchNet(harness.IN_CHANNELS, init_channels, num_cells,
                               harness.NUM_CLASSES, sampling="edges")  # mode="sample"
        searcher = self._searcher(ProxylessNasSearcher, model, "pnas", batch_size)

        def step():
            searcher.train_on_batch()
            searcher.valid_on_batch()
        return step

    def sampled_graph(self, init_channels, num_cells, batch_size):
        model = pnas.SearchNet(harness.IN_CHANNELS, init_channels, num_cells,
                               harness.NUM_CLASSES, sampling="edges")
        model.apply(training=True)
        shape = (batch_size, harness.IN_CHANNELS, harness.IMAGE_SIZE, harness.IMAGE_SIZE)

        def build():
            x, t = nn.Variable(shape), nn.Variable((batch_size, 1))
            model.loss(model(x), t)
        return build


if __name__ == "__main__":
    harness.main(OursDriver())
