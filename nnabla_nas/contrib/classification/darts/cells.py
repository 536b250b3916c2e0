"""DARTS cells: the search cell (a MixedOp on every edge) and the train cell
(the operations of a genotype).

A cell reads the outputs of the two previous cells, ``c_{k-2}`` and
``c_{k-1}``, brings both to ``channels`` channels at its own input resolution
(a :class:`~.ops.FactorizedReduce` when ``c_{k-2}`` is at twice the
resolution, i.e. the previous cell was a reduction cell), computes
``num_nodes`` intermediate nodes, each the sum of edges from the cell inputs
and earlier nodes, and concatenates the last ``multiplier`` nodes. In a
reduction cell the edges from the two cell inputs have stride 2.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
"""

from functools import reduce
from typing import Iterable, List, Optional, Sequence

import nnabla.functions as F
import numpy as np

from .... import module as Mo
from ....module.dropout import drop_mask
from ....module.mixedop import softmax, weighted_sum
from .genotype import CellGenotype, num_edges
from .ops import (CANDIDATES, FactorizedReduce, ReLUConvBN, SharedReLU, build_candidates,
                  build_op)
from .partial import bypass, check_partial_options, merge, split_channels
from .sampling import NONE, SAMPLINGS, draw_edge, draw_node


class Cell(Mo.Module):
    """Preprocessing and output concatenation common to both cells.

    Args:
        prev_prev_channels: Channels of ``c_{k-2}``.
        prev_channels: Channels of ``c_{k-1}``.
        channels: Channels of every node.
        reduction: Whether this cell halves the resolution.
        reduction_prev: Whether the previous cell did (``c_{k-2}`` is then at
            twice the resolution of ``c_{k-1}``).
        num_nodes: Number of intermediate nodes.
        multiplier: Number of last nodes concatenated into the output.
        affine: Batch normalization with trainable ``_beta``/``_gamma``.
    """

    def __init__(self, prev_prev_channels: int, prev_channels: int, channels: int,
                 reduction: bool, reduction_prev: bool, num_nodes: int, multiplier: int,
                 affine: bool):
        self._preprocess0 = (FactorizedReduce(prev_prev_channels, channels, affine)
                             if reduction_prev else
                             ReLUConvBN(prev_prev_channels, channels, 1, 1, 0, affine))
        self._preprocess1 = ReLUConvBN(prev_channels, channels, 1, 1, 0, affine)
        self.reduction = reduction
        self._num_nodes, self._multiplier = num_nodes, multiplier

    def stride(self, input_index: int) -> int:
        """Stride of an edge reading state ``input_index``."""
        return 2 if self.reduction and input_index < 2 else 1

    def call(self, s0, s1):
        states = [self._preprocess0(s0), self._preprocess1(s1)]
        for node in range(self._num_nodes):
            states.append(self._node(node, states))
        outputs = states[-self._multiplier:]
        return outputs[0] if len(outputs) == 1 else F.concatenate(*outputs, axis=1)

    def _node(self, node: int, states: List):
        """Intermediate node ``node``: the sum of its :meth:`_node_inputs`."""
        return reduce(F.add2, self._node_inputs(node, states))

    def _node_inputs(self, node: int, states: List) -> List:
        """The edge outputs summed into intermediate node ``node``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"reduction={self.reduction}, num_nodes={self._num_nodes}, "
                f"multiplier={self._multiplier}")


class SearchCell(Cell):
    """A cell with a :class:`~nnabla_nas.module.MixedOp` over all
    :data:`~.ops.CANDIDATES` on each of the ``2 + i`` inputs of node ``i``.

    Batch normalization has no affine parameters (as in DARTS' search).

    With ``partial_channels = K > 1`` (PC-DARTS, :mod:`.partial`), the MixedOps
    are built for ``channels // K`` channels and each edge processes the first
    ``channels // K`` channels of its input, the others bypassing it. With
    ``edge_normalization``, node ``i`` is ``sum_j softmax(beta_i)_j * edge_j``
    instead of the plain sum, with one architecture parameter ``beta_i`` of
    shape ``(2 + i,)`` per node (:attr:`edge_betas`).

    Args:
        prev_prev_channels: Channels of ``c_{k-2}``.
        prev_channels: Channels of ``c_{k-1}``.
        channels: Channels of every node.
        reduction: Whether this cell halves the resolution.
        reduction_prev: Whether the previous cell did.
        num_nodes: Number of intermediate nodes.
        multiplier: Number of last nodes concatenated into the output.
        mode: MixedOp mode, ``full``, ``sample`` or ``max``.
        alphas: One ``alpha`` Parameter per edge, shared with other cells;
            None gives this cell its own.
        sampling: How a ``sample``-mode build draws its path, one of
            :data:`~.sampling.SAMPLINGS` (see :mod:`.sampling`).
        partial_channels: ``K``: the edges' operations see ``channels // K``
            channels (1: all, plain DARTS). ``full`` mode only.
        edge_normalization: Weigh each node's input edges by a softmax over
            architecture parameters. ``full`` mode only.
        betas: With ``edge_normalization``, one ``beta`` Parameter per node,
            shared with other cells; None gives this cell its own.
        share_kernels: On every edge the 3x3 convolutions use the weights of
            the 5x5 ones (:func:`~.ops.build_candidates`).

    Raises:
        ValueError: For an unknown ``sampling``, or ``partial_channels`` /
            ``edge_normalization`` that do not fit (see
            :func:`~.partial.check_partial_options`).
    """

    def __init__(self, prev_prev_channels: int, prev_channels: int, channels: int,
                 reduction: bool, reduction_prev: bool, num_nodes: int, multiplier: int,
                 mode: str = "full", alphas: Optional[Sequence[Mo.Parameter]] = None,
                 sampling: str = "edges", partial_channels: int = 1,
                 edge_normalization: bool = False,
                 betas: Optional[Sequence[Mo.Parameter]] = None,
                 share_kernels: bool = False):
        super().__init__(prev_prev_channels, prev_channels, channels, reduction,
                         reduction_prev, num_nodes, multiplier, affine=False)
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
        check_partial_options(partial_channels, edge_normalization, mode, [channels],
                              [channels] if reduction else [])
        self.sampling = sampling
        self._partial = partial_channels
        if alphas is None:
            alphas = [None] * num_edges(num_nodes)
        assert len(alphas) == num_edges(num_nodes), "one alpha per edge"
        edges = ((node, j) for node in range(num_nodes) for j in range(node + 2))
        # One ReLU per state, shared by every convolution candidate reading it.
        self._relus = Mo.ModuleList(SharedReLU() for _ in range(num_nodes + 1))
        self._mixed = Mo.ModuleList(
            Mo.MixedOp(build_candidates(channels // partial_channels, self.stride(j),
                                        search=True, relu=self._relus[j],
                                        share_kernels=share_kernels),
                       mode=mode, alpha=alpha)
            for (node, j), alpha in zip(edges, alphas))
        if edge_normalization:
            if betas is None:
                betas = new_betas(num_nodes)
            assert [b.shape for b in betas] == [(2 + i,) for i in range(num_nodes)], \
                "one beta of shape (2 + i,) per node i"
            self.edge_betas = Mo.ParameterList(betas)
        else:
            assert betas is None, "betas without edge_normalization"

    def call(self, s0, s1):
        # Each state's two channel parts, shared by every edge reading it
        # (partial channels), for this build only.
        self.__dict__["_parts"] = {}
        try:
            return super().call(s0, s1)
        finally:
            # The graph is built: let it go when the caller drops it.
            for relu in self._relus:
                relu.forget()
            self.__dict__.pop("_parts", None)

    @property
    def edge_normalization(self) -> bool:
        """Whether the nodes weigh their input edges (:attr:`edge_betas`)."""
        return "edge_betas" in self.modules

    def _node(self, node: int, states: List):
        if self._partial == 1 and not self.edge_normalization:
            return super()._node(node, states)  # plain DARTS
        # Every edge a MixedOp in full mode (checked at construction), or in max
        # mode for an export (nnabla_nas.export.graph.inference_mode): no edge
        # is left out of the sums.
        start = num_edges(node)
        mixed = list(self._mixed.modules.values())[start:start + len(states)]
        weights = (F.softmax(self.edge_betas[node], axis=0) if self.edge_normalization
                   else None)
        if self._partial == 1:
            return _combine(weights, (m(h) for m, h in zip(mixed, states)))
        # sum_j w_j merge(op_j(part_j), rest_j) = merge(sum_j w_j op_j(part_j), sum_j w_j rest_j):
        # one concatenation and one shuffle per node (see .partial).
        parts = [self._split(j, h) for j, h in enumerate(states)]
        processed = _combine(weights, (m(part) for m, (part, _) in zip(mixed, parts)))
        bypassed = _combine(weights, (rest for _, rest in parts))
        return merge(processed, bypassed, self._partial)

    def _split(self, index: int, state):
        """``(first channels, bypassing channels)`` of state ``index``, the latter
        at the resolution of the edges reading it."""
        parts = self.__dict__["_parts"]
        if index not in parts:
            part, rest = split_channels(state, self._partial)
            parts[index] = (part, bypass(rest, self.stride(index)))
        return parts[index]

    def _node_inputs(self, node: int, states: List) -> List:
        start = num_edges(node)
        mixed = list(self._mixed.modules.values())[start:start + len(states)]
        per_node, no_none, mean = SAMPLINGS[self.sampling]
        if mixed[0].mode == "sample":
            if per_node is not None:  # the node draws its inputs and their operations
                drawn, grads = draw_node([m.current_probabilities() for m in mixed],
                                         mixed[0].rng, per_node)
                chosen = dict(drawn)
                for j, m in enumerate(mixed):
                    m.plan(chosen.get(j, NONE), grads[j], exclude=(NONE,))
            elif no_none:
                for m in mixed:
                    m.plan(*draw_edge(m.current_probabilities(), m.rng), exclude=(NONE,))
        terms = [m(h) for m, h in zip(mixed, states)]
        # An edge that drew the zero operation (sample/max mode) adds exactly
        # nothing: leave it out of the sum (keep one term if all did).
        live = [y for m, y in zip(mixed, terms)
                if m.gate_pair is not None or not isinstance(m.active_op, Mo.Zero)]
        if mean and len(live) > 1 and mixed[0].mode == "sample":
            return [F.mul_scalar(reduce(F.add2, live), 1.0 / len(live))]
        return live or terms[:1]

    def edge(self, node: int, input_index: int) -> Mo.MixedOp:
        """The MixedOp on the edge from state ``input_index`` to intermediate
        node ``node``."""
        return self._mixed[num_edges(node) + input_index]

    def probabilities(self) -> np.ndarray:
        """``(num_edges, len(CANDIDATES))``: softmax of each edge's alpha."""
        return np.stack([op.probabilities() for op in self._mixed])

    def edge_weights(self) -> np.ndarray:
        """``(num_edges,)``: the weight of each edge in its node, the softmax of
        the node's beta (edges ordered as :meth:`probabilities`); all ones
        without edge normalization."""
        if not self.edge_normalization:
            return np.ones(num_edges(self._num_nodes))
        return np.concatenate([softmax(beta.d) for beta in self.edge_betas])


def new_betas(num_nodes: int) -> Mo.ParameterList:
    """The edge-normalization parameters of a cell: zeros (equal weights) of
    shape ``(2 + i,)`` for node ``i``, tagged as architecture parameters."""
    betas = Mo.ParameterList(Mo.Parameter((2 + i,)) for i in range(num_nodes))
    for beta in betas:
        beta.is_arch = True
    return betas


def _combine(weights, terms: Iterable):
    """The sum of ``terms``, weighted by ``weights`` (one per term) unless None."""
    if weights is None:
        return reduce(F.add2, terms)
    return weighted_sum(weights, enumerate(terms))


class DropPath(Mo.Module):
    """Zeros the whole output of an edge for each sample with probability
    :attr:`drop_prob` in training, scaling kept samples by ``1 / (1 - drop_prob)``;
    the identity when not training. The mask is drawn from :attr:`rng` at every
    forward pass, with the :attr:`drop_prob` of that moment, so a graph built
    once follows the trainer's schedule (a graph built while it is 0 included).
    Until :attr:`drop_prob` is first set above 0 (no drop-path configured), it
    adds nothing to the graph.

    Args:
        drop_prob: Probability of dropping, in ``[0, 1)``.
        rng: Random state of the masks (default: one seeded from numpy's global
            random state, so ``np.random.seed`` makes runs repeatable).

    References:
        Larsson, Maire, Shakhnarovich. FractalNet: Ultra-Deep Neural Networks
        without Residuals. ICLR 2017.
    """

    def __init__(self, drop_prob: float = 0.0, rng: Optional[np.random.RandomState] = None):
        self.enabled = False
        self.drop_prob = drop_prob
        self.rng = rng if rng is not None else np.random.RandomState(
            np.random.randint(2 ** 31 - 1))

    @property
    def drop_prob(self) -> float:
        """Probability of dropping; once above 0, graphs built include the mask
        (:attr:`enabled`), so a schedule may bring it back to 0 and up again."""
        return self.__dict__["_drop_prob"]

    @drop_prob.setter
    def drop_prob(self, prob: float) -> None:
        self.__dict__["_drop_prob"] = float(prob)
        if prob > 0:
            self.__dict__["enabled"] = True

    def call(self, input):
        if not self.training or not self.enabled:
            return input
        shape = (input.shape[0],) + (1,) * (len(input.shape) - 1)
        return input * drop_mask(shape, lambda: self.drop_prob, self.rng)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class TrainCell(Cell):
    """A cell whose edges are the operations of a genotype, with affine batch
    normalization. Edges other than the identity go through :class:`DropPath`.

    Args:
        genotype: One list of ``{"op", "input"}`` edges per node (checked by
            :func:`~.genotype.load_genotype`).
        prev_prev_channels: Channels of ``c_{k-2}``.
        prev_channels: Channels of ``c_{k-1}``.
        channels: Channels of every node.
        reduction: Whether this cell halves the resolution.
        reduction_prev: Whether the previous cell did.
        multiplier: Number of last nodes concatenated into the output.
    """

    def __init__(self, genotype: CellGenotype, prev_prev_channels: int, prev_channels: int,
                 channels: int, reduction: bool, reduction_prev: bool, multiplier: int):
        super().__init__(prev_prev_channels, prev_channels, channels, reduction,
                         reduction_prev, len(genotype), multiplier, affine=True)
        self._inputs = [[edge["input"] for edge in edges] for edges in genotype]
        self._edges = Mo.ModuleList(
            Mo.ModuleList(build_op(edge["op"], channels, self.stride(edge["input"]),
                                   search=False) for edge in edges)
            for edges in genotype)
        self._drop_path = DropPath()

    def _node_inputs(self, node: int, states: List) -> List:
        outputs = []
        for op, j in zip(self._edges[node], self._inputs[node]):
            y = op(states[j])
            outputs.append(y if isinstance(op, Mo.Identity) else self._drop_path(y))
        return outputs
