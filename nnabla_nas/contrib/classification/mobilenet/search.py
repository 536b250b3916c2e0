"""`SearchNet`: the MobileNetV2 search space, ProxylessNAS style.

References:
    Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and
    Linear Bottlenecks. CVPR 2018.
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
"""

import os
from typing import List, Optional, Sequence, Tuple

from .... import module as Mo
from ....module.mixedop import MODES
from .blocks import build_candidates
from .export import draw_genotype, save_genotype
from .genotype import Genotype, alpha_name, make_genotype
from .network import (MobileNetBase, Settings, block_candidates, block_specs,
                      check_arguments, check_candidates, check_settings)


class SearchNet(MobileNetBase):
    """MobileNetV2 whose inverted-residual blocks are searched.

    Stem (3x3 conv, BN, ReLU6), a fixed ``MB1 3x3`` block, then one
    :class:`~nnabla_nas.module.MixedOp` per block of ``settings`` over the
    ``candidates`` (``MB{3,6} {3x3,5x5,7x7}``, see
    :data:`~.blocks.CANDIDATES`) plus ``skip`` (the identity) where
    ``skip_connect`` is set and the block keeps its shape; then 1x1 conv to
    ``1280 * max(1, width_mult)`` channels, global average pooling, dropout
    and a linear classifier. Each alpha starts at zero (uniform choice).

    Args:
        num_classes: Number of classes.
        width_mult: Multiplier of every channel count (rounded to multiples of 8).
        settings: Stage table, rows ``[channels, num_blocks, stride]``
            (default :data:`~.network.IMAGENET_SETTINGS`; for 32x32 inputs
            :data:`~.network.CIFAR_SETTINGS` with ``stem_stride=1``).
        drop_rate: Dropout probability before the classifier.
        candidates: Subset of :data:`~.blocks.CANDIDATES` names (default all);
            used in that tuple's order whatever order is given.
        mode: MixedOp mode of every block: ``sample`` (ProxylessNAS),
            ``full`` (DARTS) or ``max``.
        skip_connect: Offer ``skip`` where stride is 1 and channels are kept.
        stem_stride: Stride of the stem convolution.
        in_channels: Channels of the input images.
        share_kernels: In every block, the inverted residuals use the weights
            of the widest one with the largest kernel (``MB6 7x7``): its first
            hidden channels and the centre of its kernel (Single-Path NAS'
            superkernel, :func:`~.blocks.build_candidates`); recommended:
            without it (every candidate with weights of its own, the older
            package and the ProxylessNAS paper) the sampled supernet stays
            near chance in short searches (``bench/pnas_learning.py``). The
            default stays ``False`` so that run folders of earlier searches,
            whose ``config.json`` leaves the key out, rebuild the same network.

    Raises:
        ValueError: For an unknown candidate or mode, a malformed stage table
            or a bad size (one line each).
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1,
                 settings: Optional[Settings] = None, drop_rate: float = 0,
                 candidates: Optional[Sequence[str]] = None, mode: str = "sample",
                 skip_connect: bool = True, stem_stride: int = 2, in_channels: int = 3,
                 share_kernels: bool = False):
        check_arguments(num_classes, width_mult, drop_rate, stem_stride, in_channels)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        candidates = check_candidates(candidates)
        specs = block_specs(check_settings(settings), width_mult)
        self._names = [block_candidates(spec, candidates, skip_connect) for spec in specs]
        blocks = [Mo.MixedOp(build_candidates(names, *spec, share_kernels=share_kernels),
                             mode=mode)
                  for spec, names in zip(specs, self._names)]
        self._build(blocks, specs, num_classes, width_mult, drop_rate, stem_stride,
                    in_channels)
        assert list(self.get_arch_parameters()) == [alpha_name(i) for i in range(len(specs))], \
            "SearchNet's alpha names must be those TrainNet reads"

    @property
    def candidate_names(self) -> List[Tuple[str, ...]]:
        """Candidate names of each block, in MixedOp index order."""
        return list(self._names)

    def genotype(self) -> Genotype:
        """The argmax operation of every block (layout in :mod:`.genotype`)."""
        return make_genotype(self.specs, self._names,
                             [block.probabilities() for block in self.blocks])

    def save_arch(self, folder: str) -> None:
        """Writes to ``folder``: ``arch.h5`` (the alphas), ``arch.json`` (the
        :meth:`genotype`) and its picture ``arch.png``, each atomically."""
        super().save_arch(folder)
        genotype = self.genotype()
        save_genotype(genotype, os.path.join(folder, "arch.json"))
        draw_genotype(genotype, os.path.join(folder, "arch.png"),
                      title="MobileNetV2 blocks (argmax of alpha)")

    def extra_repr(self) -> str:
        mode = self.blocks[0].mode if len(self.blocks) else None
        return f"num_blocks={len(self.blocks)}, mode={mode}"
