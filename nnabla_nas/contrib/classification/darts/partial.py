"""Partial channel connections (PC-DARTS): the ``partial_channels`` option of
:class:`nnabla_nas.contrib.classification.darts.SearchNet`, and the check of it
and of ``edge_normalization``.

With ``partial_channels = K``, an edge of the search cell runs its mixed
operation on the first ``C / K`` channels of its input only; the other
channels bypass it (at stride 2 through a 2x2 max pooling, so both parts have
the operation's resolution). The two parts are concatenated and the channels
shuffled in ``K`` groups (:func:`channel_shuffle`), so that the channels an
edge of the next cell processes are mostly ones this edge did not. The mixed
operations then cost about ``1 / K`` of their memory and computation.

:func:`partial_edge` is one edge as the paper writes it. The search cell
sums a node's edges before the concatenation and the shuffle instead (both
are linear and the same for every edge of a node): the same numbers, with one
concatenation and one shuffle per node instead of one per edge.

References:
    Xu, Xie, Zhang, Chen, Qi, Tian, Xiong. PC-DARTS: Partial Channel
    Connections for Memory-Efficient Architecture Search. ICLR 2020.
"""

from typing import Callable, List, Sequence, Tuple

import nnabla as nn
import nnabla.functions as F


def channel_shuffle(x: nn.Variable, groups: int) -> nn.Variable:
    """Interleaves the channels of ``x`` (NCHW) from ``groups`` groups: channel
    ``g * (C // groups) + i`` goes to ``i * groups + g`` (ShuffleNet's shuffle:
    reshape to ``(N, groups, C // groups, H, W)``, swap the two channel axes,
    flatten)."""
    channels, height, width = x.shape[1:]
    y = F.reshape(x, (-1, groups, channels // groups, height, width))
    y = F.transpose(y, (0, 2, 1, 3, 4))
    return F.reshape(y, (-1, channels, height, width))


def split_channels(x: nn.Variable, k: int) -> Tuple[nn.Variable, nn.Variable]:
    """The first ``C // k`` channels of ``x`` (NCHW) and the others."""
    channels, height, width = x.shape[1:]
    part = channels // k
    step = (1, 1, 1)
    return (F.slice(x, start=(0, 0, 0), stop=(part, height, width), step=step),
            F.slice(x, start=(part, 0, 0), stop=(channels, height, width), step=step))


def bypass(rest: nn.Variable, stride: int) -> nn.Variable:
    """The channels that bypass an edge's operation, at its output resolution:
    themselves at stride 1; a 2x2 max pooling with stride 2 otherwise (odd
    sizes give ``ceil(H / 2)``, as the operations do)."""
    if stride == 1:
        return rest
    odd = any(size % 2 for size in rest.shape[2:])
    return F.max_pooling(rest, (2, 2), (2, 2), ignore_border=not odd)


def merge(part: nn.Variable, rest: nn.Variable, k: int) -> nn.Variable:
    """The processed and the bypassing channels, concatenated and shuffled in
    ``k`` groups."""
    return channel_shuffle(F.concatenate(part, rest, axis=1), k)


def partial_edge(op: Callable[[nn.Variable], nn.Variable], x: nn.Variable, k: int,
                 stride: int) -> nn.Variable:
    """One partial-channel edge: ``op`` (e.g. a MixedOp built for ``C // k``
    channels) on the first ``C // k`` channels of ``x``, the others bypassing
    it, then :func:`merge`.

    Args:
        op: The operation of the edge, mapping ``C // k`` channels to
            ``C // k`` channels at the edge's stride.
        x: The edge's input, ``(N, C, H, W)``.
        k: ``partial_channels``, dividing ``C``.
        stride: The edge's stride, 1 or 2.
    """
    part, rest = split_channels(x, k)
    return merge(op(part), bypass(rest, stride), k)


def valid_partial_channels(channels: Sequence[int], reduction_channels: Sequence[int] = ()
                           ) -> List[int]:
    """The values of ``partial_channels`` that divide every one of ``channels``
    (the nodes' channels of every cell) and leave at least 2 channels to the
    operations of a reduction cell (the stride-2 ``skip_connect`` is a
    :class:`~.ops.FactorizedReduce`, which splits its output in two)."""
    low = min(channels)
    return [k for k in range(1, low + 1)
            if all(c % k == 0 for c in channels)
            and all(c // k >= 2 for c in reduction_channels)]


def check_partial_options(partial_channels: int, edge_normalization: bool, mode: str,
                          channels: Sequence[int], reduction_channels: Sequence[int] = (),
                          context: str = "") -> None:
    """Raises ValueError (one line naming the key) unless ``partial_channels`` is
    one of :func:`valid_partial_channels` and ``edge_normalization`` a bool, and,
    when either is on, ``mode`` is ``full``.

    Args:
        context: What determines the channels, for the message
            (``"init_channels=16"``, say).
    """
    if not isinstance(edge_normalization, bool):
        raise ValueError(f"edge_normalization must be true or false, got {edge_normalization!r}")
    valid = valid_partial_channels(channels, reduction_channels)
    if isinstance(partial_channels, bool) or not isinstance(partial_channels, int) \
            or partial_channels not in valid:
        sizes = ", ".join(str(c) for c in sorted(set(channels)))
        where = f" with {context}" if context else ""
        raise ValueError(f"partial_channels must be one of {', '.join(map(str, valid))} (a "
                         f"divisor of the nodes' channels {sizes}{where}), "
                         f"got {partial_channels!r}")
    for key, on in (("partial_channels", partial_channels != 1),
                    ("edge_normalization", edge_normalization)):
        if on and mode != "full":
            raise ValueError(f"{key} is a DARTS (full mode) option, not for mode='{mode}' "
                             f"(a sampled edge runs one operation already); leave it out")
