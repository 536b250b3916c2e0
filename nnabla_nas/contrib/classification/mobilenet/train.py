"""`TrainNet`: a MobileNetV2 built from the argmax of a searched ``arch.h5``
(or the plain MobileNetV2), trained from scratch.

References:
    Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and
    Linear Bottlenecks. CVPR 2018.
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
"""

from typing import List, Mapping, Optional, Sequence, Union

import numpy as np

from .blocks import build_candidate
from .genotype import Genotype, block_entry, load_probabilities, make_genotype
from .network import (MobileNetBase, Settings, block_candidates, block_specs,
                      check_arguments, check_candidates, check_settings)

#: The block of the plain MobileNetV2.
PLAIN_OP = "MB6 3x3"


class TrainNet(MobileNetBase):
    """MobileNetV2 whose every searchable block is one fixed operation.

    With ``genotype=None`` it is the plain MobileNetV2 (every block
    ``MB6 3x3``, no skip). Otherwise block ``i`` is the argmax of the alpha
    ``blocks/i/_alpha`` in the ``arch.h5`` written by
    :meth:`SearchNet.save_arch <.search.SearchNet.save_arch>`; pass the same
    ``width_mult``, ``settings``, ``candidates`` and ``skip_connect`` as the
    search (another ``width_mult`` works where the same blocks keep their
    shape, so that every block has as many candidates as in the search).

    Args:
        num_classes: Number of classes.
        width_mult: Multiplier of every channel count (rounded to multiples of 8).
        settings: Stage table, rows ``[channels, num_blocks, stride]``
            (default :data:`~.network.IMAGENET_SETTINGS`).
        drop_rate: Dropout probability before the classifier.
        candidates: The candidate names of the search (default all).
        skip_connect: Whether the search offered ``skip``.
        genotype: Path of an ``arch.h5``, a name -> array mapping of the same
            alphas, or None for the plain MobileNetV2.
        stem_stride: Stride of the stem convolution.
        in_channels: Channels of the input images.

    Raises:
        ValueError: One line naming the file for a missing or unreadable
            ``arch.h5``, missing or extra alphas, or alphas of another
            candidate set; one line for a bad argument.
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1,
                 settings: Optional[Settings] = None, drop_rate: float = 0,
                 candidates: Optional[Sequence[str]] = None, skip_connect: bool = True,
                 genotype: Union[None, str, Mapping[str, np.ndarray]] = None,
                 stem_stride: int = 2, in_channels: int = 3):
        check_arguments(num_classes, width_mult, drop_rate, stem_stride, in_channels)
        candidates = check_candidates(candidates)
        specs = block_specs(check_settings(settings), width_mult)
        if genotype is None:
            self._genotype = [block_entry(i, spec, PLAIN_OP) for i, spec in enumerate(specs)]
        else:
            names = [block_candidates(spec, candidates, skip_connect) for spec in specs]
            self._genotype = make_genotype(specs, names, load_probabilities(genotype, names))
        blocks = [build_candidate(entry["op"], *spec)
                  for entry, spec in zip(self._genotype, specs)]
        self._build(blocks, specs, num_classes, width_mult, drop_rate, stem_stride,
                    in_channels)

    @property
    def ops(self) -> List[str]:
        """The operation of each searchable block, e.g. ``["MB6 5x5", "skip", ...]``."""
        return [entry["op"] for entry in self._genotype]

    def genotype(self) -> Genotype:
        """The blocks the network was built from (layout in :mod:`.genotype`;
        ``prob`` is None for the plain MobileNetV2)."""
        return [dict(entry) for entry in self._genotype]

    def extra_repr(self) -> str:
        return f"num_blocks={len(self.blocks)}"
