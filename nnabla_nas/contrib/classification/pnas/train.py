"""`pnas.TrainNet`: the network a ProxylessNAS search chose, from its ``arch.h5``."""

import os
from typing import Dict, List

import numpy as np

from ....utils.io import load_h5_parameters
from ..darts import TrainNet as DartsTrainNet
from ..darts.genotype import CELL_TYPES
from ..darts.ops import CANDIDATES
from .search import SearchNet


def argmax_genotype(arch_path: str, in_channels: int, num_cells: int, num_classes: int,
                    num_choices: int, multiplier: int) -> Dict[str, object]:
    """Every edge with its argmax operation, per cell type (``none`` edges dropped).

    The alphas of ``arch_path`` are loaded into a search network of the same
    shape (one channel: only the alpha names matter); without sharing, the
    operation probabilities of a cell type are averaged over its cells.

    Raises:
        ValueError: If the file is missing or its alphas do not fit the network.
    """
    if not os.path.isfile(arch_path):
        raise ValueError(f"genotype file '{arch_path}' does not exist")
    try:
        saved = load_h5_parameters(arch_path)
    except ValueError as err:
        raise ValueError(str(err)) from None
    shared = any(key.startswith("alpha_normal") for key in saved)
    net = SearchNet(in_channels, 1, num_cells, num_classes, num_choices=num_choices,
                    multiplier=multiplier, shared=shared, stem_multiplier=1)
    expected = set(net.get_arch_parameters())
    if set(saved) != expected:
        missing = sorted(expected - set(saved))[:3]
        extra = sorted(set(saved) - expected)[:3]
        raise ValueError(f"'{arch_path}' does not fit a network of {num_cells} cells with "
                         f"{num_choices} nodes (missing {missing}, unexpected {extra})")
    for name, alpha in net.get_arch_parameters().items():
        if saved[name].shape != alpha.shape:
            raise ValueError(f"'{arch_path}': alpha '{name}' has shape {saved[name].shape}, "
                             f"expected {alpha.shape} (a different candidate set)")
        alpha.d = saved[name]
    genotype: Dict[str, object] = {"num_nodes": num_choices}
    for cell_type in CELL_TYPES:
        cells = [c for c in net.cells if c.reduction == (cell_type == "reduce")]
        probs = (np.mean([c.probabilities() for c in cells], axis=0) if cells else
                 np.full((sum(2 + i for i in range(num_choices)), len(CANDIDATES)),
                         1.0 / len(CANDIDATES)))
        genotype[cell_type] = _argmax_cell(probs, num_choices)
    return genotype


def _argmax_cell(probs: np.ndarray, num_nodes: int) -> List[list]:
    none = CANDIDATES.index("none")
    cell, start = [], 0
    for node in range(num_nodes):
        edges = []
        rows = probs[start:start + node + 2]
        start += node + 2
        for j, row in enumerate(rows):
            k = int(np.argmax(row))
            if k != none:
                edges.append({"op": CANDIDATES[k], "input": j, "prob": round(float(row[k]), 6)})
        if not edges:  # keep the node connected: its strongest non-none edge
            masked = rows.copy()
            masked[:, none] = -1
            j, k = np.unravel_index(int(np.argmax(masked)), masked.shape)
            edges.append({"op": CANDIDATES[k], "input": int(j),
                          "prob": round(float(rows[j, k]), 6)})
        cell.append(edges)
    return cell


class TrainNet(DartsTrainNet):
    """The DARTS-space network of a ProxylessNAS search: every edge takes the
    argmax operation of its alpha (``none`` edges are dropped).

    Args:
        genotype: Path of the search's ``arch.h5``.
        Other arguments: as :class:`nnabla_nas.contrib.darts.TrainNet`.

    Raises:
        ValueError: Missing file or alphas that do not fit the network.
    """

    def __init__(self, in_channels: int, init_channels: int, num_cells: int,
                 num_classes: int, genotype: str, num_choices: int = 4, multiplier: int = 4,
                 stem_multiplier: int = 3, drop_path: float = 0.0, auxiliary: bool = False):
        arch = argmax_genotype(genotype, in_channels, num_cells, num_classes, num_choices,
                               multiplier)
        super().__init__(in_channels, init_channels, num_cells, num_classes, arch,
                         num_choices=num_choices, multiplier=multiplier,
                         stem_multiplier=stem_multiplier, drop_path=drop_path,
                         auxiliary=auxiliary)
