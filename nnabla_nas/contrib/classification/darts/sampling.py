"""How a sampled DARTS cell draws its path: the ``sampling`` option of
:class:`~nnabla_nas.contrib.classification.pnas.SearchNet`.

* ``edges`` (the older package): every edge draws one of all candidates,
  ``none`` included, from ``softmax(alpha)``; a node sums whatever its edges
  drew (one to five terms).
* ``edges-no-none``: every edge draws one of the candidates other than
  ``none``, from ``softmax(alpha)`` restricted to them.
* ``edges-mean``: as ``edges``, but a node averages its live terms instead of
  summing them (its scale does not depend on how many edges drew ``none``).
* ``nodes``: every node draws two distinct inputs and one operation other than
  ``none`` for each, as a genotype has (see :func:`draw_node`).

References:
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
    Guo, Zhang, Mu, Heng, Liu, Wei, Sun. Single Path One-Shot Neural
    Architecture Search with Uniform Sampling. ECCV 2020.
"""

from typing import List, Sequence, Tuple

import numpy as np

from .ops import CANDIDATES

#: Sampling policy -> (inputs drawn per node or None for every edge,
#: ``none`` excluded from paths, node = mean of its live terms).
SAMPLINGS = {"edges": (None, False, False),
             "edges-no-none": (None, True, False),
             "edges-mean": (None, False, True),
             "nodes": (2, True, False)}

NONE = CANDIDATES.index("none")


def draw_edge(p: Sequence[float], rng: np.random.RandomState,
              none: int = NONE) -> Tuple[int, np.ndarray]:
    """One operation other than ``none`` from ``p`` restricted to the others.

    Returns:
        The index and the gradient of ``-log`` its probability with respect to
        the edge's alpha: ``q - onehot(index)``, where ``q`` is ``p`` without
        ``none``, renormalised (its ``none`` entry is 0).
    """
    q = np.array(p, dtype=np.float64)
    q[none] = 0.0
    q /= q.sum()
    cdf = np.cumsum(q)
    # The first index whose cumulative sum exceeds u: never none (its step is 0).
    index = int(np.searchsorted(cdf / cdf[-1], rng.random_sample(), side="right"))
    score = q.copy()
    score[index] -= 1.0
    return index, score


def draw_node(probs: Sequence[Sequence[float]], rng: np.random.RandomState, k: int = 2,
              none: int = NONE) -> Tuple[List[Tuple[int, int]], List[np.ndarray]]:
    """Draws ``k`` distinct inputs of a node and an operation for each.

    Edge ``j`` has probabilities ``p_j = softmax(alpha_j)``. The node draws
    ``k`` times, without putting an edge back: edge ``j`` with probability
    ``s_j / S`` (``s_j = 1 - p_j[none]``, the edge's weight of being present;
    ``S`` the sum over the edges not drawn yet), then its operation from
    ``p_j`` restricted to the operations other than ``none``. A draw of edge
    ``j`` with operation ``o`` thus has probability ``p_j[o] / S``: the node
    keeps its strongest (edge, operation) pairs most often, which is what the
    genotype export keeps for good. With equal alphas every pair of inputs
    and every operation is equally likely.

    Returns:
        The ``(edge, operation)`` pairs in the order drawn, and for every edge
        the gradient of ``-log P(draw)`` with respect to its alpha (zero
        vectors are not omitted: an edge not drawn still moved ``S``).
    """
    p = np.array(probs, dtype=np.float64)
    n = len(p)
    k = min(k, n)
    s = 1.0 - p[:, none]
    remaining = list(range(n))
    grads = np.zeros_like(p)
    drawn = []
    for _ in range(k):
        weights = s[remaining]
        total = float(weights.sum())
        cdf = np.cumsum(weights)
        j = remaining[int(np.searchsorted(cdf / cdf[-1], rng.random_sample(), side="right"))]
        op, _ = draw_edge(p[j], rng, none)
        drawn.append((j, op))
        # -log P += -log p_j[op] + log S
        grads[j] += p[j]
        grads[j, op] -= 1.0
        for i in remaining:  # d log S / d alpha_i = p_i[none] (p_i - onehot(none)) / S
            g = p[i] * p[i, none]
            g[none] -= p[i, none]
            grads[i] += g / total
        remaining.remove(j)
    return drawn, list(grads)
