"""The DARTS genotype: which operation each intermediate node keeps, and its
export to / import from ``arch.json``.

Layout of ``arch.json`` (a dict; :func:`load_genotype` checks all of it)::

    {
      "num_nodes": 4,
      "normal": [                                    # one list per intermediate node
        [{"op": "sep_conv_3x3", "input": 0, "prob": 0.31},   # its incoming edges
         {"op": "skip_connect", "input": 1, "prob": 0.22}],
        ...
      ],
      "reduce": [...]                                # same, for reduction cells
    }

``input`` numbers the states of a cell: 0 is the output of the cell before the
previous one (``c_{k-2}``), 1 the previous cell's (``c_{k-1}``), ``2 + j`` the
intermediate node ``j``; node ``i`` may read inputs ``0 .. i + 1``. ``prob`` is
the softmax weight of the operation on that edge in the search (without shared
alphas, the mean over the cells of that type; optional on import). The
search exports the two strongest edges of every node; a train network accepts
any non-empty list of edges per node.

A search with edge normalization (PC-DARTS) adds ``"edge_weight"`` to each
edge: the softmax weight of the edge among its node's inputs (the same mean
without sharing), and ranks a node's edges by ``prob * edge_weight``.

References:
    Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019.
    Xu, Xie, Zhang, Chen, Qi, Tian, Xiong. PC-DARTS: Partial Channel
    Connections for Memory-Efficient Architecture Search. ICLR 2020.
"""

import json
import os
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ....utils.io import write_text_atomic
from .ops import CANDIDATES

CellGenotype = List[List[Dict[str, Any]]]
Genotype = Dict[str, Any]

#: The two kinds of cells, keys of a genotype.
CELL_TYPES = ("normal", "reduce")


def num_edges(num_nodes: int) -> int:
    """Number of edges of a cell with ``num_nodes`` intermediate nodes (14 for 4)."""
    return sum(2 + i for i in range(num_nodes))


def parse_cell(probs: np.ndarray, num_nodes: int, edges_per_node: int = 2,
               edge_weights: Optional[np.ndarray] = None) -> CellGenotype:
    """The strongest edges of each node, as in DARTS' ``genotype()``.

    An edge's operation is its most probable one other than ``none``, and its
    strength that probability, times the edge's weight when ``edge_weights``
    are given (PC-DARTS' edge normalization). Ties go to the lower index.

    Args:
        probs: ``(num_edges(num_nodes), len(CANDIDATES))`` operation
            probabilities, edges ordered node by node, inputs ascending.
        num_nodes: Number of intermediate nodes.
        edges_per_node: How many incoming edges each node keeps.
        edge_weights: ``(num_edges(num_nodes),)`` weights of the edges in
            their nodes, same order, or None.

    Returns:
        One list of ``{"op", "input", "prob"}`` per node (and ``"edge_weight"``
        with ``edge_weights``).
    """
    probs = np.asarray(probs, dtype=np.float64)
    expected = (num_edges(num_nodes), len(CANDIDATES))
    assert probs.shape == expected, f"probabilities of shape {probs.shape}, expected {expected}"
    weights = (np.ones(expected[0]) if edge_weights is None
               else np.asarray(edge_weights, dtype=np.float64))
    assert weights.shape == expected[:1], \
        f"edge weights of shape {weights.shape}, expected {expected[:1]}"
    keep = [k for k, name in enumerate(CANDIDATES) if name != "none"]
    cell, start = [], 0
    for node in range(num_nodes):
        node_probs = probs[start:start + node + 2][:, keep]
        node_weights = weights[start:start + node + 2]
        start += node + 2
        best = np.argmax(node_probs, axis=1)          # best op of each input edge
        prob = node_probs[np.arange(len(best)), best]
        strength = prob * node_weights
        inputs = sorted(np.argsort(-strength, kind="stable")[:edges_per_node])
        edges = [{"op": CANDIDATES[keep[best[j]]], "input": int(j),
                  "prob": round(float(prob[j]), 6)} for j in inputs]
        if edge_weights is not None:
            for edge, j in zip(edges, inputs):
                edge["edge_weight"] = round(float(node_weights[j]), 6)
        cell.append(edges)
    return cell


def make_genotype(normal_probs: np.ndarray, reduce_probs: np.ndarray, num_nodes: int,
                  normal_edge_weights: Optional[np.ndarray] = None,
                  reduce_edge_weights: Optional[np.ndarray] = None) -> Genotype:
    """The genotype dict of the normal and reduction cells' probabilities and,
    with edge normalization, edge weights (see :func:`parse_cell`)."""
    return {"num_nodes": num_nodes,
            "normal": parse_cell(normal_probs, num_nodes, edge_weights=normal_edge_weights),
            "reduce": parse_cell(reduce_probs, num_nodes, edge_weights=reduce_edge_weights)}


def save_genotype(genotype: Genotype, path: str) -> None:
    """Writes ``genotype`` to ``path`` as JSON (one line per node), atomically."""
    items = []
    for key, value in genotype.items():
        if key in CELL_TYPES:
            nodes = ",\n".join(f"    {json.dumps(edges)}" for edges in value)
            items.append(f"  {json.dumps(key)}: [\n{nodes}\n  ]")
        else:
            items.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    text = "{\n" + ",\n".join(items) + "\n}\n"
    assert json.loads(text) == genotype, "genotype JSON does not round-trip"
    write_text_atomic(path, text)


def load_genotype(source: Union[str, Genotype], num_nodes: int) -> Genotype:
    """Reads and checks a genotype.

    Args:
        source: Path of an ``arch.json``, or an already loaded dict.
        num_nodes: Number of intermediate nodes the network expects
            (its ``num_choices``).

    Returns:
        The genotype dict (``prob`` kept where present).

    Raises:
        ValueError: One line naming the file and what is wrong: a missing
            file, malformed JSON, a missing cell type, an unknown operation,
            a bad input index, or a number of nodes other than ``num_nodes``.
    """
    if isinstance(source, dict):
        where, genotype = "genotype <dict>", source
    else:
        where = f"genotype file '{source}'"
        if not os.path.isfile(source):
            raise ValueError(f"{where} does not exist")
        try:
            with open(source) as f:
                genotype = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{where} is not valid JSON ({err})") from None
    if not isinstance(genotype, dict):
        raise ValueError(f"{where} must hold a JSON object with keys "
                         f"{', '.join(CELL_TYPES)}, got {type(genotype).__name__}")
    stated = genotype.get("num_nodes", num_nodes)
    if stated != num_nodes:
        raise ValueError(f"{where} has num_nodes={stated}, but the network has "
                         f"num_choices={num_nodes}")
    for cell_type in CELL_TYPES:
        if cell_type not in genotype:
            raise ValueError(f"{where} has no '{cell_type}' cell")
        _check_cell(genotype[cell_type], num_nodes, f"{where}, '{cell_type}' cell")
    return genotype


def _check_cell(cell: Any, num_nodes: int, where: str) -> None:
    if not isinstance(cell, list) or len(cell) != num_nodes:
        size = f"{len(cell)} nodes" if isinstance(cell, list) else repr(cell)
        raise ValueError(f"{where}: has {size}, but the network has "
                         f"num_choices={num_nodes} nodes per cell")
    for node, edges in enumerate(cell):
        if not isinstance(edges, list) or not edges:
            raise ValueError(f"{where}, node {node}: expected a non-empty list of edges, "
                             f"got {edges!r}")
        for edge in edges:
            if not isinstance(edge, dict) or "op" not in edge or "input" not in edge:
                raise ValueError(f"{where}, node {node}: an edge must be an object with "
                                 f"'op' and 'input', got {edge!r}")
            if edge["op"] not in CANDIDATES:
                raise ValueError(f"{where}, node {node}: unknown op '{edge['op']}'; "
                                 f"valid ops: {', '.join(CANDIDATES)}")
            index = edge["input"]
            if isinstance(index, bool) or not isinstance(index, int) \
                    or not 0 <= index < node + 2:
                raise ValueError(f"{where}, node {node}: input {index!r} is not one of "
                                 f"0..{node + 1} (the cell inputs and earlier nodes)")
