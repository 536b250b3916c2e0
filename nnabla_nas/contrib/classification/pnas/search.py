"""`pnas.SearchNet`: the DARTS space in ``sample`` mode with per-cell alphas."""

from typing import Dict, List

import numpy as np

from ..darts import SearchNet as DartsSearchNet
from ..darts.genotype import CELL_TYPES
from ..darts.ops import CANDIDATES


class SearchNet(DartsSearchNet):
    """The DARTS cell space for ProxylessNAS: every edge samples one operation
    per graph build (``mode='sample'``) and each cell has its own alphas
    (``shared=False``). Arguments as :class:`nnabla_nas.contrib.darts.SearchNet`.

    Its genotype (``arch.json`` and the cell pictures) is the network
    :class:`~nnabla_nas.contrib.classification.pnas.TrainNet` rebuilds: with
    ``sampling="nodes"`` the two strongest inputs of every node (the DARTS
    genotype, the kind of cell the search trained); otherwise every edge with
    its argmax operation, ``none`` edges dropped.

    Args:
        sampling: How a build draws its path
            (:mod:`~nnabla_nas.contrib.classification.darts.sampling`):
            ``nodes`` (default: two inputs per node, ``none`` never on a path),
            ``edges`` (the older package: every edge draws one of all eight
            candidates), ``edges-no-none`` or ``edges-mean``.
        share_kernels: The 3x3 convolutions of every edge use the weights of
            the 5x5 ones (Single-Path NAS' superkernel,
            :func:`~nnabla_nas.contrib.classification.darts.ops.build_candidates`).
    """

    def __init__(self, in_channels: int, init_channels: int, num_cells: int,
                 num_classes: int, num_choices: int = 4, multiplier: int = 4,
                 mode: str = "sample", shared: bool = False, stem_multiplier: int = 3,
                 sampling: str = "nodes", share_kernels: bool = False):
        super().__init__(in_channels, init_channels, num_cells, num_classes,
                         num_choices=num_choices, multiplier=multiplier, mode=mode,
                         shared=shared, stem_multiplier=stem_multiplier, sampling=sampling,
                         share_kernels=share_kernels)

    def genotype(self) -> Dict[str, object]:
        """With ``sampling="nodes"``, the DARTS genotype (the two strongest
        non-``none`` inputs of each node). Otherwise every edge with its argmax
        operation, per cell type (probabilities averaged over the cells of a
        type); a node whose edges all choose ``none`` keeps its strongest other
        edge."""
        if self._sampling == "nodes":
            return super().genotype()
        probs = self.cell_probabilities()
        return {"num_nodes": self._num_choices,
                **{t: argmax_cell(probs[t], self._num_choices) for t in CELL_TYPES}}


def argmax_cell(probs: np.ndarray, num_nodes: int) -> List[list]:
    """The argmax operation of every edge of a cell, ``none`` edges dropped."""
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
