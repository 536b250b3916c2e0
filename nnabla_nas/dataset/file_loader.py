"""`FileDataLoader`: fixed-size, resumable mini-batches decoded from image files.

The file-backed counterpart of :class:`~nnabla_nas.dataset.loader.DataLoader`
for datasets too large for memory (ImageNet). It has the same public interface
(``next``, ``epoch``, ``state_dict``/``load_state_dict``, ``size``,
``batch_size``, ``shape``, ``len``), walks the images in the same order and
saves the same state, but decodes each batch from JPEG/PNG files with a pool of
threads (Pillow releases the GIL while it decodes and resamples) while the
caller uses the previous batch.

The transforms are torchvision's ImageNet recipe:

* training: :func:`random_resized_crop_box` (``RandomResizedCrop``) resized to
  ``image_size``, then a horizontal flip with probability 1/2;
* evaluation: the shorter side resized to ``resize``, then a center crop of
  ``image_size`` (``Resize`` + ``CenterCrop``).

Every image gets its own seed, drawn from the loader's random state in the
calling thread, so batches do not depend on which thread decodes what.

A file that cannot be decoded (missing, truncated, not an image) is skipped,
counted in :attr:`FileDataLoader.skipped` and named in one logged warning.
:meth:`FileDataLoader.next` fills its place with another image of the same
batch (the batch keeps its size); :meth:`FileDataLoader.epoch` leaves it out.
"""

import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import numpy as np
from PIL import Image

from .data import DatasetError, one_line
from .loader import parse_sampler_state, sampler_state

LOG = logging.getLogger(__name__)

#: What Pillow raises for a missing, truncated or corrupt file.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
#: ``RandomResizedCrop`` defaults: fraction of the area and aspect ratio range.
SCALE = (0.08, 1.0)
RATIO = (3.0 / 4.0, 4.0 / 3.0)


def random_resized_crop_box(width: int, height: int, rng: np.random.RandomState,
                            scale: Tuple[float, float] = SCALE,
                            ratio: Tuple[float, float] = RATIO) -> Tuple[int, int, int, int]:
    """The crop box of torchvision's ``RandomResizedCrop.get_params``.

    Up to 10 tries draw an area fraction in ``scale`` and a log-uniform aspect
    ratio in ``ratio``; the first box that fits is placed uniformly. If none
    fits, the largest central box with a ratio in range is used.

    Args:
        width: Image width.
        height: Image height.
        rng: Random state for the draws.
        scale: Range of the box area as a fraction of the image area.
        ratio: Range of the box's width / height.

    Returns:
        ``(left, top, right, bottom)`` in pixels, as :meth:`PIL.Image.Image.crop` takes it.

    References:
        Szegedy et al., "Going Deeper with Convolutions", CVPR 2015.
    """
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = rng.randint(0, height - h + 1)
            left = rng.randint(0, width - w + 1)
            return left, top, left + w, top + h
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        w, h = int(round(height * max(ratio))), height
    else:
        w, h = width, height
    top, left = (height - h) // 2, (width - w) // 2
    return left, top, left + w, top + h


def train_transform(img: Image.Image, image_size: int,
                    rng: np.random.RandomState) -> np.ndarray:
    """Random resized crop to ``image_size`` and random horizontal flip; uint8 HWC."""
    box = random_resized_crop_box(img.width, img.height, rng)
    out = np.asarray(img.crop(box).resize((image_size, image_size), Image.BILINEAR))
    return out[:, ::-1] if rng.rand() < 0.5 else out


def eval_transform(img: Image.Image, image_size: int, resize: int) -> np.ndarray:
    """Shorter side resized to ``resize``, then a center crop of ``image_size``; uint8 HWC.

    Sizes and offsets are rounded as torchvision's ``Resize`` and ``CenterCrop``.
    """
    w, h = img.size
    if w <= h:
        size = (resize, int(resize * h / w))
    else:
        size = (int(resize * w / h), resize)
    img = img.resize(size, Image.BILINEAR)
    left = int(round((size[0] - image_size) / 2.0))
    top = int(round((size[1] - image_size) / 2.0))
    return np.asarray(img.crop((left, top, left + image_size, top + image_size)))


def read_rgb(path: str) -> Image.Image:
    """Decodes an image file as RGB (grayscale, palette, CMYK and alpha are converted).

    Raises:
        One of :data:`DECODE_ERRORS` if the file is missing or not a readable image.
    """
    with Image.open(path) as img:
        img.load()  # decodes; the pixels stay usable once the file is closed
        return img if img.mode == "RGB" else img.convert("RGB")


class _Plan(NamedTuple):
    """One batch to decode: the loader state before it, its indices and per-image seeds."""

    state: Tuple[Any, np.ndarray, int]
    index: np.ndarray
    seeds: Optional[np.ndarray]


class _Batch(NamedTuple):
    """A batch being decoded: its plan, the output array and one future per image."""

    plan: _Plan
    x: np.ndarray
    futures: List[Future]


class FileDataLoader:
    """Streams normalised mini-batches decoded from image files by a thread pool.

    Same semantics as :class:`~nnabla_nas.dataset.loader.DataLoader`:
    :meth:`next` returns exactly ``batch_size`` items, walking a permutation
    of the files so that every image is used once per ``size`` samples;
    :meth:`epoch` is one ordered pass with the evaluation transform; the
    loader owns its random state and :meth:`state_dict` resumes exactly.
    :meth:`next` decodes the following batch in the background.

    Args:
        files: Image paths.
        labels: Integer labels ``(N,)``.
        batch_size: Number of items per :meth:`next` batch.
        image_size: Side of the square network input.
        resize: Shorter side before the evaluation center crop.
        shuffle: Whether each epoch visits the images in a random order.
        augment: Whether :meth:`next` uses the training transform (random
            resized crop and flip) rather than the evaluation one.
        mean: Per-channel mean on the 0..1 scale.
        std: Per-channel standard deviation on the 0..1 scale.
        workers: Number of decoding threads.
        rng: Seed (or random state) of the loader's own ``np.random.RandomState``.

    Raises:
        ValueError: If lengths disagree, an option is out of range or there
            are fewer files than ``batch_size``.
    """

    def __init__(self, files: Sequence[str], labels: np.ndarray, batch_size: int,
                 image_size: int = 224, resize: int = 256, shuffle: bool = False,
                 augment: bool = False, mean: Sequence[float] = (0.0,) * 3,
                 std: Sequence[float] = (1.0,) * 3, workers: int = 4,
                 rng: Union[int, np.random.RandomState, None] = 0,
                 shard: Tuple[int, int] = (0, 1)):
        if len(labels) != len(files):
            raise ValueError(f"{len(files)} files but {len(labels)} labels")
        if batch_size < 1 or workers < 1 or not 0 < image_size <= resize:
            raise ValueError(f"expected batch_size >= 1, workers >= 1 and 0 < image_size <= "
                             f"resize, got {batch_size}, {workers}, {image_size}, {resize}")
        if len(files) < batch_size:
            raise ValueError(f"only {len(files)} images for a batch size of {batch_size}; "
                             "lower the batch size or enlarge this split")
        rank, parts = shard
        if not 0 <= rank < parts or batch_size % parts:
            raise ValueError(f"batch_size {batch_size} cannot be split into {parts} equal "
                             f"parts (shard {rank} of {parts}); use a multiple of {parts}")
        self._files = list(files)
        self._labels = np.asarray(labels, dtype=np.int32).reshape(-1, 1)
        #: ``(rank, size)``: this process' part of every global batch (as DataLoader).
        self.shard = (int(rank), int(parts))
        self.global_batch_size = int(batch_size)
        self.batch_size = int(batch_size) // parts
        self.image_size, self.resize = int(image_size), int(resize)
        self.shuffle, self.augment = shuffle, augment
        self.mean, self.std = tuple(mean), tuple(std)
        # Normalisation as one multiply-add per channel: pixel * scale - offset.
        std32 = np.asarray(std, np.float32).reshape(-1, 1, 1)
        self._scale = 1.0 / (255.0 * std32)
        self._offset = np.asarray(mean, np.float32).reshape(-1, 1, 1) / std32
        self.workers = int(workers)
        self.rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
        #: Number of distinct files found undecodable so far.
        self.skipped = 0
        self._bad: Set[str] = set()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pending: Optional[_Batch] = None
        self._perm = self._new_permutation()
        self._pos = 0

    @property
    def size(self) -> int:
        """Number of images."""
        return len(self._files)

    @property
    def shape(self) -> Tuple[int, int, int]:
        """Shape ``(C, H, W)`` of one input."""
        return (3, self.image_size, self.image_size)

    def __len__(self) -> int:
        """Steps per epoch, ``ceil(size / global batch size)``."""
        return math.ceil(self.size / self.global_batch_size)

    def _new_permutation(self) -> np.ndarray:
        return self.rng.permutation(self.size) if self.shuffle else np.arange(self.size)

    # -- decoding ----------------------------------------------------------------
    def _load(self, x: np.ndarray, i: int, path: str, seed: Optional[int]) -> Optional[str]:
        """Decodes ``path`` into ``x[i]`` (runs in a worker); the error text if it fails."""
        try:
            img = read_rgb(path)
            if seed is None:
                out = eval_transform(img, self.image_size, self.resize)
            else:
                out = train_transform(img, self.image_size, np.random.RandomState(seed))
        except DECODE_ERRORS as err:
            return one_line(err)
        # (pixel / 255 - mean) / std, written straight into the batch as CHW.
        np.multiply(out.transpose(2, 0, 1), self._scale, out=x[i])
        np.subtract(x[i], self._offset, out=x[i])
        return None

    def _submit(self, plan: _Plan) -> _Batch:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="decode")
        x = np.empty((len(plan.index),) + self.shape, np.float32)
        seeds = [None] * len(plan.index) if plan.seeds is None else plan.seeds.tolist()
        futures = [self._pool.submit(self._load, x, i, self._files[j], seed)
                   for i, (j, seed) in enumerate(zip(plan.index.tolist(), seeds))]
        return _Batch(plan, x, futures)

    def _wait(self, batch: _Batch) -> np.ndarray:
        """Waits for ``batch``; reports its failures and returns the mask of decoded items."""
        ok = np.ones(len(batch.futures), bool)
        for i, future in enumerate(batch.futures):
            error = future.result()
            if error is not None:
                ok[i] = False
                path = self._files[batch.plan.index[i]]
                if path not in self._bad:
                    self._bad.add(path)
                    self.skipped += 1
                    LOG.warning("skipped undecodable image '%s' (%s); %d skipped so far",
                                path, error, self.skipped)
        return ok

    @staticmethod
    def _cancel(batch: Optional[_Batch]) -> None:
        if batch is not None:
            for future in batch.futures:
                future.cancel()

    # -- streaming -----------------------------------------------------------------
    def _plan(self) -> _Plan:
        """Advances the position (and random state) by one batch, as DataLoader does."""
        state = (self.rng.get_state(), self._perm, self._pos)
        chunks, need = [], self.global_batch_size
        while need:
            if self._pos == self.size:
                self._perm, self._pos = self._new_permutation(), 0
            take = self._perm[self._pos:self._pos + need]
            self._pos += len(take)
            need -= len(take)
            chunks.append(take)
        seeds = (self.rng.randint(0, 2 ** 31 - 1, size=self.global_batch_size)
                 if self.augment else None)
        # This process' part: the index and per-image seeds a single process would use.
        mine = slice(self.shard[0] * self.batch_size, (self.shard[0] + 1) * self.batch_size)
        return _Plan(state, np.concatenate(chunks)[mine], None if seeds is None else seeds[mine])

    def next(self) -> Tuple[np.ndarray, np.ndarray]:
        """The next batch: x float32 ``(B, C, H, W)`` normalised, y int32 ``(B, 1)``.

        Raises:
            DatasetError: If no image of the batch can be decoded.
        """
        current = self._pending if self._pending is not None else self._submit(self._plan())
        self._pending = self._submit(self._plan())  # decode the following batch meanwhile
        ok = self._wait(current)
        x, y = current.x, self._labels[current.plan.index]
        if not ok.all():
            good, bad = np.flatnonzero(ok), np.flatnonzero(~ok)
            if not len(good):
                raise DatasetError(f"none of the {len(ok)} images of a batch could be decoded, "
                                   f"e.g. '{self._files[current.plan.index[0]]}'")
            # Each failed item takes the next decoded item of the batch (cyclically).
            fill = good[np.searchsorted(good, bad) % len(good)]
            x[bad] = x[fill]
            y[bad] = y[fill]
        return x, y

    def epoch(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """One ordered pass with the evaluation transform; the last batch may be smaller.

        Undecodable images are left out. It does not touch the random state or
        the position of :meth:`next`.
        """
        rank, parts = self.shard

        def submit(start: int) -> _Batch:
            n = min(self.global_batch_size, self.size - start)
            index = np.arange(start + n * rank // parts, start + n * (rank + 1) // parts)
            return self._submit(_Plan(None, index, None))

        starts = range(0, self.size, self.global_batch_size)
        ahead: Optional[_Batch] = submit(starts[0])
        try:
            for k in range(len(starts)):
                current = ahead
                ahead = submit(starts[k + 1]) if k + 1 < len(starts) else None
                ok = self._wait(current)
                if not len(ok):
                    continue  # an empty part of a short last batch
                if ok.all():
                    yield current.x, self._labels[current.plan.index]
                else:
                    yield current.x[ok], self._labels[current.plan.index[ok]]
        finally:
            self._cancel(ahead)

    # -- state ---------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """Position, permutation and random state, as plain JSON-able Python.

        A batch decoded ahead does not count: the state is the one right after
        the last batch :meth:`next` returned. The format is the one of
        :meth:`DataLoader.state_dict`.
        """
        if self._pending is not None:
            rng_state, perm, pos = self._pending.plan.state
        else:
            rng_state, perm, pos = self.rng.get_state(), self._perm, self._pos
        return sampler_state(rng_state, perm, pos)

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a :meth:`state_dict` so the following batches are the same.

        Raises:
            ValueError: If the state belongs to a loader of another size.
        """
        rng_state, perm, pos = parse_sampler_state(state, self.size)
        self._cancel(self._pending)
        self._pending = None
        self.rng.set_state(rng_state)
        self._perm, self._pos = perm, pos

    def close(self) -> None:
        """Stops the decoding threads (a later call to :meth:`next` starts new ones)."""
        self._cancel(self._pending)
        self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
