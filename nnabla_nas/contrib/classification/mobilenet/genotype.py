"""The MobileNetV2 genotype: the operation each searchable block keeps (the
argmax of its ``alpha``), and the reading of a searched ``arch.h5``.

Layout of the genotype (written as ``arch.json`` by
:func:`~.export.save_genotype`): a list with one entry per searchable block,
in network order::

    [
      {"block": 0, "op": "MB6 5x5", "expansion": 6, "kernel": 5,
       "in_channels": 16, "out_channels": 24, "stride": 2, "prob": 0.41},
      {"block": 1, "op": "skip", "expansion": null, "kernel": null,
       "in_channels": 24, "out_channels": 24, "stride": 1, "prob": 0.22},
      ...
    ]

``prob`` is ``softmax(alpha)`` of the chosen operation (``null`` for a
network not built from a search). Ties go to the lower candidate index.

``arch.h5`` holds one ``alpha`` per searchable block, named
:func:`alpha_name` and of shape ``(number of candidates, 1, 1, 1, 1)``.

References:
    Cai, Zhu, Han. ProxylessNAS: Direct Neural Architecture Search on Target
    Task and Hardware. ICLR 2019.
"""

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ....module.mixedop import softmax
from ....utils.io import load_h5_parameters
from .blocks import SKIP, parse_candidate
from .network import BlockSpec

Genotype = List[Dict[str, Any]]


def alpha_name(block: int) -> str:
    """The name of block ``block``'s alpha in ``SearchNet.get_arch_parameters()``
    and ``arch.h5``."""
    return f"blocks/{block}/_alpha"


def block_entry(block: int, spec: BlockSpec, op: str,
                prob: Optional[float] = None) -> Dict[str, Any]:
    """One genotype entry (layout in the module docstring)."""
    expansion, kernel = (None, None) if op == SKIP else parse_candidate(op)
    return {"block": block, "op": op, "expansion": expansion, "kernel": kernel,
            "in_channels": spec.in_channels, "out_channels": spec.out_channels,
            "stride": spec.stride, "prob": None if prob is None else round(float(prob), 6)}


def make_genotype(specs: Sequence[BlockSpec], names: Sequence[Sequence[str]],
                  probs: Sequence[np.ndarray]) -> Genotype:
    """The argmax genotype.

    Args:
        specs: Channels and stride of each block.
        names: Candidate names of each block, in MixedOp index order.
        probs: ``softmax(alpha)`` of each block.
    """
    assert len(specs) == len(names) == len(probs), "one spec, name list and alpha per block"
    genotype = []
    for i, (spec, block_names, p) in enumerate(zip(specs, names, probs)):
        k = int(np.argmax(p))
        genotype.append(block_entry(i, spec, block_names[k], p[k]))
    return genotype


def load_probabilities(source: Union[str, Mapping[str, np.ndarray]],
                       names: Sequence[Sequence[str]]) -> List[np.ndarray]:
    """Reads the alphas of a search and checks them against the blocks.

    Args:
        source: Path of an ``arch.h5`` written by ``SearchNet.save_arch``, or a
            name -> array mapping with the same content.
        names: Candidate names of each block of the network to build.

    Returns:
        ``softmax(alpha)`` of each block.

    Raises:
        ValueError: One line naming the file: it is missing or unreadable, an
            alpha is missing or unexpected, or an alpha's number of
            candidates differs from the block's (another candidate set,
            ``skip_connect`` or stage table).
    """
    if isinstance(source, Mapping):
        where, alphas = "genotype <dict>", source
    else:
        where = f"genotype file '{source}'"
        if not os.path.isfile(source):
            problem = "is not a file" if os.path.exists(source) else "does not exist"
            raise ValueError(f"{where} {problem}; give the arch.h5 of a search")
        alphas = load_h5_parameters(source)       # its ValueError names the file
    expected = [alpha_name(i) for i in range(len(names))]
    missing = [key for key in expected if key not in alphas]
    if missing:
        raise ValueError(f"{where} has no alpha '{missing[0]}' ({len(missing)} missing): "
                         f"the network has {len(expected)} searchable blocks")
    extra = [key for key in alphas if key not in set(expected)]
    if extra:
        raise ValueError(f"{where} has an unexpected alpha '{extra[0]}' ({len(extra)} extra): "
                         f"the network has {len(expected)} searchable blocks")
    probs = []
    for key, block_names in zip(expected, names):
        alpha = np.asarray(alphas[key])
        shape = (len(block_names), 1, 1, 1, 1)
        if alpha.shape != shape:
            raise ValueError(f"{where}: alpha '{key}' has shape {alpha.shape}, but the block's "
                             f"candidates are {', '.join(block_names)} (shape {shape}); "
                             f"search and train with the same candidates, skip_connect "
                             f"and settings")
        probs.append(softmax(alpha))
    return probs
