"""`DartsSearcher`: first-order DARTS.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

from ..registry import RUNNERS
from ..runner import frozen
from .search import Searcher


@RUNNERS.register("DartsSearcher")
class DartsSearcher(Searcher):
    """Gradient descent on ``alpha`` with the validation loss (first order).

    Both steps run the same cached graph of the supernet (every candidate
    operation, mixed by ``softmax(alpha)``). The weight step freezes ``alpha``
    and the architecture step freezes the weights, so neither computes
    gradients it would throw away.
    """

    network_mode = "full"
    recompute_default = True  # the full supernet is DARTS' memory problem

    def train_on_batch(self, warmup: bool = False):
        return self.weight_update(self.weight_optimizer(warmup), "train",
                                  self.args.accum_train, key="search")

    def valid_on_batch(self):
        optimizer = self.optimizer["valid"]
        with frozen(self.net_parameters.values()):
            graph = self.graph("search", self.dataloader["valid"].batch_size, training=True)
            optimizer.set_parameters(self.arch_parameters)
            optimizer.zero_grad()
            result = self.accumulate(graph, "valid", self.args.accum_valid)
            optimizer.update()
        self.check_arch_finite()
        return result
