"""The collapse monitor: how far a search moved its architecture weights, and
how many parameter-free operations its argmax architecture holds.

Two ways a differentiable search fails without an error:

* **No decision.** The architecture weights barely left zero (too few
  architecture steps, or too small a learning rate for them): every
  ``softmax(alpha)`` is close to uniform and the exported argmax is close to
  a random pick.
* **Collapse.** The architecture fills up with parameter-free operations
  (skip connections, pooling), which win early because they need no training.

The figures below, computed per search epoch from the model's current
``alpha`` s, make both visible; :func:`alphas_moved` and :func:`warning` turn
the first into a verdict at the end of a search.

References:
    Zela, Elsken, Saikia, Marrakchi, Brox, Hutter. Understanding and
    Robustifying Differentiable Architecture Search. ICLR 2020.
"""

import math
from typing import Dict, Iterable, List

import nnabla as nn
import numpy as np

from ...module import SharedKernel
from ...module.mixedop import softmax

#: A choice point with ``K`` operators has *moved* when its largest
#: probability is at least ``MOVED_RATIO / K`` (uniform is ``1 / K``).
MOVED_RATIO = 1.1
#: The alphas of a search moved when at least this share of its choice points did.
MOVED_SHARE = 0.5

#: The per-epoch figures, in the order of ``metrics.csv``'s columns.
EPOCH_FIGURES = ("param_free_share", "alpha_entropy", "alpha_max_prob")


def choice_alphas(mixed_ops: Iterable) -> List[nn.Variable]:
    """The distinct ``alpha`` of ``mixed_ops`` (a shared one once), in order of
    first appearance, leaving out those of a single operator (no choice)."""
    seen, alphas = set(), []
    for m in mixed_ops:
        alpha = m.alpha
        if id(alpha) not in seen and alpha.size > 1:
            seen.add(id(alpha))
            alphas.append(alpha)
    return alphas


def alpha_figures(alphas: Iterable[nn.Variable]) -> Dict[str, float]:
    """Means over ``alphas`` of: the entropy of ``softmax(alpha)`` divided by
    ``log K`` (``alpha_entropy``; 1 is uniform, 0 one-hot), the largest
    probability (``alpha_max_prob``), and whether it reaches
    ``MOVED_RATIO / K`` (``moved_share``). Also their number (``choice_points``)."""
    entropy, top, moved = [], [], []
    for alpha in alphas:
        p = softmax(alpha.d)
        k = p.size
        nonzero = p[p > 0]
        entropy.append(float(-np.sum(nonzero * np.log(nonzero)) / math.log(k)))
        top.append(float(p.max()))
        moved.append(float(p.max() >= MOVED_RATIO / k))
    if not top:
        return {}
    return {"alpha_entropy": float(np.mean(entropy)), "alpha_max_prob": float(np.mean(top)),
            "moved_share": float(np.mean(moved)), "choice_points": len(top)}


def is_parameter_free(module) -> bool:
    """Whether ``module`` has no trainable parameter (skip, pooling, zero; a
    pooling followed by a batch normalization without affine parameters too)
    and reads no other module's weights (a convolution on shared kernels,
    :class:`~nnabla_nas.module.SharedKernel`, is not parameter-free)."""
    if any(p.need_grad for p in module.get_parameters().values()):
        return False
    return not any(isinstance(m, SharedKernel) for _, m in module.get_modules())


def param_free_share(operators: Iterable) -> float:
    """The share of parameter-free modules among ``operators`` (NaN for none)."""
    flags = [is_parameter_free(op) for op in operators]
    return float(np.mean(flags)) if flags else float("nan")


def arch_figures(model, mixed_ops: Iterable) -> Dict[str, float]:
    """Every figure of the monitor for ``model`` (empty without a choice point):
    :func:`alpha_figures` of its MixedOps' alphas and the
    :func:`param_free_share` of its argmax architecture
    (``model.argmax_operators()``)."""
    figures = alpha_figures(choice_alphas(mixed_ops))
    if not figures:
        return {}
    return {"param_free_share": param_free_share(model.argmax_operators()), **figures}


def alphas_moved(figures: Dict[str, float]) -> bool:
    """The verdict: at least ``MOVED_SHARE`` of the choice points moved."""
    return figures["moved_share"] >= MOVED_SHARE


def warning(figures: Dict[str, float], arch_lr: float, epochs: int) -> str:
    """The paragraph a search whose alphas barely moved ends with, naming the
    knobs and their values (``arch_lr``: ``optimizer.valid.lr``; ``epochs``:
    ``hparams.epoch``)."""
    points = figures["choice_points"]
    moved = round(figures["moved_share"] * points)
    return (f"the architecture weights barely moved: {moved} of {points} choice points "
            f"have an operation with at least {MOVED_RATIO:g} times the uniform probability "
            f"(mean largest probability {figures['alpha_max_prob']:.4f}, normalised entropy "
            f"of softmax(alpha) {figures['alpha_entropy']:.5f}, 1 = uniform), so the "
            f"exported architecture is close to a random pick. Give the architecture "
            f"larger or more steps: raise optimizer.valid.lr (the architecture learning "
            f"rate, now {arch_lr:.3g}) or hparams.epoch (now {epochs}), and search again.")
