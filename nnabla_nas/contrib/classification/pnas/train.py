"""`pnas.TrainNet`: the network a ProxylessNAS search chose, from its ``arch.h5``."""

import os
from typing import Dict

import numpy as np

from ....utils.io import load_h5_parameters
from ..darts import TrainNet as DartsTrainNet
from .search import SearchNet


def _search_cells(saved: Dict[str, np.ndarray]) -> int:
    """Number of cells of the search that wrote ``saved`` (unshared alphas are
    named ``cells/<i>/...``); 3 for shared alphas (any count has both types)."""
    indices = [int(key.split("/")[1]) for key in saved
               if key.startswith("cells/") and key.split("/")[1].isdigit()]
    return max(indices) + 1 if indices else 3


def argmax_genotype(arch_path: str, num_choices: int, multiplier: int,
                    sampling: str = "nodes") -> Dict[str, object]:
    """The genotype of the search that wrote ``arch_path``
    (:meth:`SearchNet.genotype`): with ``sampling="nodes"`` the two strongest
    inputs of each node, otherwise every edge with its argmax operation, per
    cell type (``none`` edges dropped).

    The alphas of ``arch_path`` are loaded into a search network shaped like the
    one that wrote them (its number of cells is read from the names; one channel:
    only the alphas matter). Without sharing, the operation probabilities of a
    cell type are averaged over its cells, so the retrained network may have any
    number of cells.

    Raises:
        ValueError: If the file is missing or its alphas do not fit the network.
    """
    if not os.path.isfile(arch_path):
        raise ValueError(f"genotype file '{arch_path}' does not exist")
    saved = load_h5_parameters(arch_path)
    shared = any(key.startswith("alpha_normal") for key in saved)
    net = SearchNet(1, 1, _search_cells(saved), 1, num_choices=num_choices,
                    multiplier=multiplier, shared=shared, stem_multiplier=1,
                    sampling=sampling)
    expected = set(net.get_arch_parameters())
    if set(saved) != expected:
        missing = sorted(expected - set(saved))[:3]
        extra = sorted(set(saved) - expected)[:3]
        raise ValueError(f"'{arch_path}' does not fit a search network with {num_choices} "
                         f"nodes per cell (missing {missing}, unexpected {extra})")
    for name, alpha in net.get_arch_parameters().items():
        if saved[name].shape != alpha.shape:
            raise ValueError(f"'{arch_path}': alpha '{name}' has shape {saved[name].shape}, "
                             f"expected {alpha.shape} (a different candidate set)")
        alpha.d = saved[name]
    return net.genotype()


class TrainNet(DartsTrainNet):
    """The DARTS-space network of a ProxylessNAS search, from its ``arch.h5``:
    with ``sampling="nodes"`` the two strongest inputs of every node, each with
    its strongest operation; otherwise every edge takes the argmax operation of
    its alpha (``none`` edges are dropped).

    The other arguments are those of :class:`nnabla_nas.contrib.darts.TrainNet`.

    Args:
        genotype: Path of the search's ``arch.h5`` (any number of searched cells).
        sampling: The ``sampling`` of the search (:class:`SearchNet`).

    Raises:
        ValueError: Missing file or alphas that do not fit the network.
    """

    def __init__(self, in_channels: int, init_channels: int, num_cells: int,
                 num_classes: int, genotype: str, num_choices: int = 4, multiplier: int = 4,
                 stem_multiplier: int = 3, drop_path: float = 0.0, auxiliary: bool = False,
                 sampling: str = "nodes"):
        arch = argmax_genotype(genotype, num_choices, multiplier, sampling)
        super().__init__(in_channels, init_channels, num_cells, num_classes, arch,
                         num_choices=num_choices, multiplier=multiplier,
                         stem_multiplier=stem_multiplier, drop_path=drop_path,
                         auxiliary=auxiliary)
