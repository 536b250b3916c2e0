"""`DataLoader`: fixed-size, resumable mini-batches from in-memory images."""

import math
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from .transforms import Augment, normalize


class DataLoader:
    """Streams normalised mini-batches over a set of uint8 images.

    :meth:`next` always returns exactly ``batch_size`` items, so the compute
    graph keeps one shape: it walks through a permutation of the images and,
    when the permutation runs out, continues with the next epoch's
    permutation. Every image is therefore used exactly once per ``size``
    consecutive samples. :meth:`epoch` is one ordered pass for evaluation.

    The loader owns its random state (shuffling and augmentation), so the same
    seed gives the same batches, and :meth:`state_dict` captures everything
    needed to resume exactly where it stopped.

    Data parallelism: with ``shard=(rank, size)`` every process walks the same
    order of global batches of ``batch_size`` and keeps its own contiguous
    ``1/size`` of each (:attr:`batch_size` is then the per-process part), so
    the ranks together see each image once per epoch, and the position and
    random state (:meth:`state_dict`) are the same on every rank.

    Args:
        images: uint8 images ``(N, H, W, C)``.
        labels: Integer labels ``(N,)``.
        batch_size: Number of items per :meth:`next` batch.
        shuffle: Whether each epoch visits the images in a random order.
        augment: ``(batch, rng) -> batch`` applied to uint8 batches by
            :meth:`next`, or ``None``.
        mean: Per-channel mean on the 0..1 scale.
        std: Per-channel standard deviation on the 0..1 scale.
        rng: Seed (or random state) of the loader's own
            ``np.random.RandomState``.
        shard: ``(rank, size)``: this process' part of every batch.

    Raises:
        ValueError: If shapes disagree, there are fewer images than
            ``batch_size``, or ``size`` does not divide ``batch_size``.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int,
                 shuffle: bool = False, augment: Optional[Augment] = None,
                 mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,),
                 rng: Union[int, np.random.RandomState, None] = 0,
                 shard: Tuple[int, int] = (0, 1)):
        if images.ndim != 4 or len(labels) != len(images):
            raise ValueError(f"expected images (N, H, W, C) and labels (N,), got "
                             f"{images.shape} and {np.shape(labels)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if len(images) < batch_size:
            raise ValueError(f"only {len(images)} images for a batch size of {batch_size}; "
                             "lower the batch size or enlarge this split")
        rank, parts = shard
        if not 0 <= rank < parts or batch_size % parts:
            raise ValueError(f"batch_size {batch_size} cannot be split into {parts} equal "
                             f"parts (shard {rank} of {parts}); use a multiple of {parts}")
        self._images = images
        self._labels = np.asarray(labels, dtype=np.int32).reshape(-1, 1)
        self.shard = (int(rank), int(parts))
        #: Items per global batch (all processes together).
        self.global_batch_size = int(batch_size)
        #: Items per :meth:`next` batch of this process.
        self.batch_size = int(batch_size) // parts
        self.shuffle = shuffle
        self.augment = augment
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
        self._perm = self._new_permutation()
        self._pos = 0

    @property
    def size(self) -> int:
        """Number of images."""
        return len(self._images)

    @property
    def shape(self) -> Tuple[int, int, int]:
        """Shape ``(C, H, W)`` of one input."""
        _, h, w, c = self._images.shape
        return (c, h, w)

    def __len__(self) -> int:
        """Steps per epoch, ``ceil(size / global batch size)``."""
        return math.ceil(self.size / self.global_batch_size)

    def _new_permutation(self) -> np.ndarray:
        return self.rng.permutation(self.size) if self.shuffle else np.arange(self.size)

    def next(self) -> Tuple[np.ndarray, np.ndarray]:
        """The next batch: x float32 ``(B, C, H, W)`` normalised, y int32 ``(B, 1)``
        (this process' part of the next global batch)."""
        chunks, need = [], self.global_batch_size
        while need:
            if self._pos == self.size:
                self._perm, self._pos = self._new_permutation(), 0
            take = self._perm[self._pos:self._pos + need]
            self._pos += len(take)
            need -= len(take)
            chunks.append(take)
        index = np.concatenate(chunks)
        mine = slice(self.shard[0] * self.batch_size, (self.shard[0] + 1) * self.batch_size)
        if self.augment is None:
            index = index[mine]
            return normalize(self._images[index], self.mean, self.std), self._labels[index]
        # The whole global batch is augmented, so the random state advances alike on
        # every rank and each image is transformed as in a single-process run.
        batch = self.augment(self._images[index], self.rng)[mine]
        return normalize(batch, self.mean, self.std), self._labels[index[mine]]

    def epoch(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """One ordered pass without augmentation; the last batch may be smaller.

        With a shard, this process' part of each global batch (parts differ by
        at most one image; an empty part is skipped): the ranks together cover
        every image once. It does not touch the random state or the position
        of :meth:`next`.
        """
        rank, parts = self.shard
        for start in range(0, self.size, self.global_batch_size):
            n = min(self.global_batch_size, self.size - start)
            lo, hi = start + n * rank // parts, start + n * (rank + 1) // parts
            if hi > lo:
                yield (normalize(self._images[lo:hi], self.mean, self.std),
                       self._labels[lo:hi])

    def state_dict(self) -> Dict[str, Any]:
        """Position, permutation and random state, as plain JSON-able Python."""
        return sampler_state(self.rng.get_state(), self._perm, self._pos)

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a :meth:`state_dict` so the following batches are the same.

        Raises:
            ValueError: If the state belongs to a loader of another size.
        """
        rng_state, self._perm, self._pos = parse_sampler_state(state, self.size)
        self.rng.set_state(rng_state)


def sampler_state(rng_state: tuple, perm: np.ndarray, position: int) -> Dict[str, Any]:
    """The JSON-able state of a streaming sampler: random state, permutation, position."""
    name, keys, rng_pos, has_gauss, gauss = rng_state
    return {"rng": [name, keys.tolist(), int(rng_pos), int(has_gauss), float(gauss)],
            "position": int(position), "permutation": np.asarray(perm).tolist()}


def parse_sampler_state(state: Dict[str, Any], size: int) -> Tuple[tuple, np.ndarray, int]:
    """``(rng_state, permutation, position)`` of a :func:`sampler_state`, checked.

    Raises:
        ValueError: If the state belongs to a sampler over another number of images.
    """
    perm = np.asarray(state["permutation"], dtype=np.int64)
    pos = int(state["position"])
    if (perm.shape != (size,) or not 0 <= pos <= size
            or not np.array_equal(np.sort(perm), np.arange(size))):
        raise ValueError(f"loader state is for {len(perm)} images at position {pos}, "
                         f"this loader has {size} images")
    name, keys, rng_pos, has_gauss, gauss = state["rng"]
    return (name, np.asarray(keys, dtype=np.uint32), rng_pos, has_gauss, gauss), perm, pos
