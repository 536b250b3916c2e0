"""The `Model` base class: a network whose parameters split into net and arch groups.

Architecture parameters (the ``alpha`` of each :class:`~nnabla_nas.module.MixedOp`)
are told apart from network weights by the single tag
:attr:`nnabla_nas.module.Parameter.is_arch`, here and nowhere else.
"""

import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import nnabla as nn
import numpy as np

from .. import module as Mo
from ..utils.io import save_h5_parameters

Outputs = Union[nn.Variable, Sequence[nn.Variable]]
Params = Dict[str, Mo.Parameter]  # an OrderedDict, name -> Parameter


class Model(Mo.Module):
    """Base class of every network a searcher or trainer runs.

    Subclasses implement :meth:`call` and, for a task, :meth:`loss` and
    :meth:`metrics` (see
    :class:`~nnabla_nas.contrib.classification.base.ClassificationModel`).
    """

    def _split_parameters(self, grad_only: bool) -> Tuple[Params, Params]:
        """``(net, arch)`` parameters of :meth:`get_parameters`, split by ``is_arch``."""
        params = self.get_parameters(grad_only=grad_only)
        net, arch = OrderedDict(), OrderedDict()
        for name, p in params.items():
            (arch if p.is_arch else net)[name] = p
        assert len(net) + len(arch) == len(params) and not set(net) & set(arch), \
            "every parameter must be in exactly one of the net / arch groups"
        return net, arch

    def get_net_parameters(self, grad_only: bool = False) -> Params:
        """Network weights: every parameter not tagged ``is_arch``.

        Args:
            grad_only: Only parameters (and modules) with ``need_grad`` True.
        """
        return self._split_parameters(grad_only)[0]

    def get_arch_parameters(self, grad_only: bool = False) -> Params:
        """Architecture parameters: every parameter tagged ``is_arch``.

        Args:
            grad_only: Only parameters (and modules) with ``need_grad`` True.
        """
        return self._split_parameters(grad_only)[1]

    def loss(self, outputs: Outputs, targets: Outputs,
             loss_weights: Optional[Sequence[float]] = None) -> nn.Variable:
        """The scalar training loss of ``outputs`` against ``targets``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement loss(); "
                                  "derive from ClassificationModel for classification")

    def metrics(self, outputs: Outputs, targets: Outputs) -> Dict[str, nn.Variable]:
        """Name -> scalar Variable of the evaluation metrics."""
        raise NotImplementedError(f"{type(self).__name__} does not implement metrics(); "
                                  "derive from ClassificationModel for classification")

    def summary(self) -> str:
        """One line: sizes of the net and arch groups and the number of MixedOps."""
        net, arch = self._split_parameters(grad_only=False)
        mixed = sum(isinstance(m, Mo.MixedOp) for _, m in self.get_modules())
        trainable = {k: p for k, p in net.items() if p.need_grad}
        return (f"{type(self).__name__}: {_count(trainable):,} trainable net parameters "
                f"({_count(net):,} in all, in {len(net)} arrays), "
                f"{_count(arch):,} arch parameters in {len(arch)} arrays, "
                f"{mixed} MixedOps")

    def argmax_operators(self) -> List[Mo.Module]:
        """The operators of the architecture the search exports: for each
        distinct ``alpha``, the operator of largest weight (of the first
        :class:`~nnabla_nas.module.MixedOp` that holds it; ties go to the lower
        index). Search spaces that derive their architecture otherwise (the
        DARTS genotype keeps two inputs per node) override it."""
        seen, operators = set(), []
        for _, m in self.get_modules():
            if isinstance(m, Mo.MixedOp) and id(m.alpha) not in seen:
                seen.add(id(m.alpha))
                operators.append(m.ops[int(np.argmax(m.alpha.d.ravel()))])
        return operators

    def save_arch(self, folder: str) -> None:
        """Writes the architecture to ``folder`` (created if needed).

        The base class writes the arch parameters to ``<folder>/arch.h5``
        (atomically, nnabla's ``.h5`` layout); search spaces extend it with
        their own export (a genotype, pictures).
        """
        os.makedirs(folder, exist_ok=True)
        save_h5_parameters(os.path.join(folder, "arch.h5"), self.get_arch_parameters())


def _count(params: Params) -> int:
    return sum(p.size for p in params.values())
