"""`SearchNet`: the DARTS cell search space.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
    Xu, Xie, Zhang, Chen, Qi, Tian, Xiong. PC-DARTS: Partial Channel
    Connections for Memory-Efficient Architecture Search. ICLR 2020.
"""

import os
from typing import Dict, List, Optional

import numpy as np

from .... import module as Mo
from ....module.mixedop import MODES
from ....utils.visualize import draw_cell, write_dot
from .cells import SearchCell, new_betas
from .genotype import CELL_TYPES, Genotype, make_genotype, num_edges, save_genotype
from .network import DartsNetwork, cell_specs, check_sizes
from .ops import CANDIDATES
from .partial import check_partial_options
from .sampling import SAMPLINGS


class SearchNet(DartsNetwork):
    """The DARTS search network: a stack of :class:`~.cells.SearchCell`, with
    reduction cells at ``num_cells // 3`` and ``2 * num_cells // 3``.

    Each edge of a cell is a :class:`~nnabla_nas.module.MixedOp` over
    :data:`~.ops.CANDIDATES` with an ``alpha`` of shape ``(8, 1, 1, 1, 1)``
    (zeros at the start: uniform over the operations).

    Args:
        in_channels: Channels of the input images.
        init_channels: Channels of the nodes of the first cells (doubled at
            each reduction cell).
        num_cells: Number of cells.
        num_classes: Number of classes.
        num_choices: Intermediate nodes per cell.
        multiplier: Number of last nodes concatenated into a cell's output.
        mode: MixedOp mode for every edge: ``full`` (DARTS), ``sample``
            (ProxylessNAS) or ``max``.
        shared: One set of alphas for all normal cells and one for all
            reduction cells (:attr:`alpha_normal`, :attr:`alpha_reduce`,
            ``num_edges`` each); otherwise each cell has its own.
        stem_multiplier: The stem outputs ``stem_multiplier * init_channels``
            channels.
        sampling: How a ``sample``-mode build draws its path (ProxylessNAS):
            one of :data:`~.sampling.SAMPLINGS`; see :mod:`.sampling`.
        partial_channels: PC-DARTS' ``K``: each edge's operations process
            ``1/K`` of the channels of its input, the others bypass them
            (:mod:`.partial`); 1 is plain DARTS. It must divide the nodes'
            channels of every cell. ``full`` mode only.
        edge_normalization: PC-DARTS' edge normalization: node ``i`` weighs
            its input edges by ``softmax(beta_i)``, ``beta_i`` architecture
            parameters (:attr:`beta_normal` / :attr:`beta_reduce` with
            ``shared``, each cell's ``edge_betas`` otherwise), and the
            genotype ranks edges by operation probability times edge weight.
            ``full`` mode only.
        share_kernels: On every edge, the 3x3 convolutions use the centres of
            the 5x5 ones' depthwise kernels and their pointwise convolutions
            (Single-Path NAS' superkernel, :func:`~.ops.build_candidates`).

    Raises:
        ValueError: For a non-positive size, a ``multiplier`` outside
            ``1..num_choices``, an unknown ``mode``, a ``partial_channels``
            that does not divide the channels, or a PC-DARTS option outside
            ``full`` mode.
    """

    def __init__(self, in_channels: int, init_channels: int, num_cells: int,
                 num_classes: int, num_choices: int = 4, multiplier: int = 4,
                 mode: str = "full", shared: bool = False, stem_multiplier: int = 3,
                 sampling: str = "edges", partial_channels: int = 1,
                 edge_normalization: bool = False, share_kernels: bool = False):
        check_sizes(num_choices, multiplier, in_channels=in_channels,
                    init_channels=init_channels, num_cells=num_cells,
                    num_classes=num_classes, stem_multiplier=stem_multiplier)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, "
                             f"got {sampling!r}")
        stem_channels = stem_multiplier * init_channels
        specs = cell_specs(stem_channels, init_channels, num_cells, multiplier)
        check_partial_options(partial_channels, edge_normalization, mode,
                              [spec.channels for spec in specs],
                              [spec.channels for spec in specs if spec.reduction],
                              context=f"init_channels={init_channels}, num_cells={num_cells}")
        self._num_choices, self._shared, self._sampling = num_choices, shared, sampling
        self._partial_channels, self._edge_normalization = partial_channels, edge_normalization
        self._share_kernels = share_kernels
        if shared:
            self.alpha_normal = self._new_alphas()
            self.alpha_reduce = self._new_alphas()
            if edge_normalization:
                self.beta_normal = new_betas(num_choices)
                self.beta_reduce = new_betas(num_choices)
        cells = [SearchCell(*spec, num_nodes=num_choices, multiplier=multiplier, mode=mode,
                            alphas=self._shared_alphas(spec.reduction), sampling=sampling,
                            partial_channels=partial_channels,
                            edge_normalization=edge_normalization,
                            betas=self._shared_betas(spec.reduction),
                            share_kernels=share_kernels)
                 for spec in specs]
        self._build(in_channels, stem_channels, cells, multiplier * specs[-1].channels,
                    num_classes)

    def _new_alphas(self) -> Mo.ParameterList:
        alphas = Mo.ParameterList(Mo.Parameter((len(CANDIDATES), 1, 1, 1, 1))
                                  for _ in range(num_edges(self._num_choices)))
        for alpha in alphas:
            alpha.is_arch = True      # also when no cell of this type uses it
        return alphas

    def _shared_alphas(self, reduction: bool) -> Optional[Mo.ParameterList]:
        if not self._shared:
            return None
        return self.alpha_reduce if reduction else self.alpha_normal

    def _shared_betas(self, reduction: bool) -> Optional[Mo.ParameterList]:
        if not (self._shared and self._edge_normalization):
            return None
        return self.beta_reduce if reduction else self.beta_normal

    def call(self, input):
        return self._classify(self._features(input)[0])

    def cell_probabilities(self) -> Dict[str, np.ndarray]:
        """Cell type -> ``(num_edges, len(CANDIDATES))`` operation probabilities.

        The softmaxes of the alphas; without sharing, the mean of those
        softmaxes over all cells of that type. A cell type absent from the
        stack (e.g. ``normal`` with ``num_cells=2``) gets uniform probabilities.
        """
        probs = {}
        for cell_type in CELL_TYPES:
            cells = [c for c in self.cells if c.reduction == (cell_type == "reduce")]
            probs[cell_type] = (np.mean([c.probabilities() for c in cells], axis=0) if cells
                                else np.full((num_edges(self._num_choices), len(CANDIDATES)),
                                             1.0 / len(CANDIDATES)))
        return probs

    def edge_weights(self) -> Optional[Dict[str, np.ndarray]]:
        """With ``edge_normalization``, cell type -> ``(num_edges,)`` weights of
        the edges in their nodes (the softmaxes of the betas, edges ordered as
        :meth:`cell_probabilities`); without sharing, the mean over the cells
        of that type; uniform over a node's inputs for a type absent from the
        stack. None without edge normalization."""
        if not self._edge_normalization:
            return None
        weights = {}
        for cell_type in CELL_TYPES:
            cells = [c for c in self.cells if c.reduction == (cell_type == "reduce")]
            weights[cell_type] = (np.mean([c.edge_weights() for c in cells], axis=0) if cells
                                  else np.concatenate([np.full(2 + i, 1.0 / (2 + i))
                                                       for i in range(self._num_choices)]))
        return weights

    def genotype(self) -> Genotype:
        """The genotype of the current architecture parameters (layout in
        :mod:`.genotype`): the two strongest non-``none`` inputs of each node,
        from :meth:`cell_probabilities` and, with edge normalization, weighed
        by :meth:`edge_weights` (PC-DARTS' ranking)."""
        probs = self.cell_probabilities()
        weights = self.edge_weights() or {}
        return make_genotype(probs["normal"], probs["reduce"], self._num_choices,
                             weights.get("normal"), weights.get("reduce"))

    def argmax_operators(self) -> List[Mo.Module]:
        """The operations of :meth:`genotype`: every kept edge of each cell type
        present in the stack, as the module of that edge in the first cell of
        the type (in a reduction cell, ``skip_connect`` on an edge from a cell
        input is a :class:`~.ops.FactorizedReduce`, with convolutions)."""
        genotype, operators = self.genotype(), []
        for cell_type in CELL_TYPES:
            cell = next((c for c in self.cells if c.reduction == (cell_type == "reduce")), None)
            if cell is None:
                continue
            for node, edges in enumerate(genotype[cell_type]):
                operators += [cell.edge(node, e["input"]).ops[CANDIDATES.index(e["op"])]
                              for e in edges]
        return operators

    def save_arch(self, folder: str) -> None:
        """Writes to ``folder``: ``arch.h5`` (the alphas, and the betas with edge
        normalization), ``arch.json`` (the
        :meth:`genotype`), and per cell type a picture ``normal.png`` /
        ``reduce.png`` and a Graphviz file ``normal.dot`` / ``reduce.dot``.
        Every file is written atomically."""
        super().save_arch(folder)
        genotype = self.genotype()
        save_genotype(genotype, os.path.join(folder, "arch.json"))
        for cell_type in CELL_TYPES:
            draw_cell(genotype[cell_type], os.path.join(folder, f"{cell_type}.png"),
                      title=f"{cell_type} cell")
            write_dot(genotype[cell_type], os.path.join(folder, f"{cell_type}.dot"))

    def extra_repr(self) -> str:
        text = f"num_choices={self._num_choices}, shared={self._shared}"
        if self._partial_channels != 1:
            text += f", partial_channels={self._partial_channels}"
        if self._edge_normalization:
            text += ", edge_normalization=True"
        if self._share_kernels:
            text += ", share_kernels=True"
        return text
