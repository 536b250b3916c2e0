"""Batch augmentations on uint8 NHWC images, and normalisation to float NCHW.

Every augmentation has the signature ``(batch, rng) -> batch`` once its
options are bound (see :func:`crop_flip`), works on a whole batch at once with
one random draw per image, and returns a new array (the input is untouched).
"""

from typing import Callable, Sequence

import numpy as np

Augment = Callable[[np.ndarray, np.random.RandomState], np.ndarray]


def random_crop(batch: np.ndarray, rng: np.random.RandomState, padding: int) -> np.ndarray:
    """Zero-pads each image by ``padding`` pixels and crops it back at a random offset.

    Args:
        batch: uint8 images ``(N, H, W, C)``.
        rng: Random state for the offsets.
        padding: Pad width on every side; the image moves by up to this many
            pixels in each direction.
    """
    n, h, w, _ = batch.shape
    padded = np.pad(batch, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    top = rng.randint(0, 2 * padding + 1, size=n)
    left = rng.randint(0, 2 * padding + 1, size=n)
    rows = top[:, None] + np.arange(h)
    cols = left[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def horizontal_flip(batch: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Mirrors each image left-right with probability 1/2."""
    flip = rng.rand(len(batch)) < 0.5
    out = batch.copy()
    out[flip] = batch[flip, :, ::-1]
    return out


def cutout(batch: np.ndarray, rng: np.random.RandomState, length: int,
           fill: Sequence[int] = (0,)) -> np.ndarray:
    """Fills one ``length`` x ``length`` square per image with ``fill``.

    The square's centre is uniform over the image and the square is clipped
    at the borders, as in the reference implementation.

    Args:
        batch: uint8 images ``(N, H, W, C)``.
        rng: Random state for the centres.
        length: Side of the square in pixels.
        fill: Per-channel (or single) uint8 value written into the square.

    References:
        DeVries and Taylor, "Improved Regularization of Convolutional Neural
        Networks with Cutout", arXiv:1708.04552, 2017.
    """
    n, h, w, _ = batch.shape
    top = rng.randint(0, h, size=n) - length // 2
    left = rng.randint(0, w, size=n) - length // 2
    rows = np.arange(h)[None, :]
    cols = np.arange(w)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + length)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + length)
    mask = in_rows[:, :, None] & in_cols[:, None, :]
    out = batch.copy()
    out[mask] = np.asarray(fill, dtype=batch.dtype)
    return out


def crop_flip(padding: int = 4, flip: bool = True, cutout_length: int = 0,
              cutout_fill: Sequence[int] = (0,)) -> Augment:
    """The standard CIFAR augmentation as one ``(batch, rng) -> batch`` callable.

    Random crop with ``padding`` zero padding, then (if ``flip``) a random
    horizontal flip, then (if ``cutout_length > 0``) cutout. Cutout runs on the
    uint8 images; filling with the dataset's mean colour makes the square
    about zero after normalisation, like cutout applied to normalised images.

    Args:
        padding: Crop padding in pixels (0: no crop).
        flip: Whether to flip horizontally.
        cutout_length: Cutout square side in pixels (0: no cutout).
        cutout_fill: Value of the cutout square (see :func:`mean_fill`).
    """
    def augment(batch: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        if padding:
            batch = random_crop(batch, rng, padding)
        if flip:
            batch = horizontal_flip(batch, rng)
        if cutout_length:
            batch = cutout(batch, rng, cutout_length, cutout_fill)
        return batch
    return augment


def mean_fill(mean: Sequence[float]) -> tuple:
    """The uint8 colour closest to a per-channel mean given on the 0..1 scale."""
    return tuple(int(round(255 * m)) for m in mean)


def normalize(batch: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """uint8 NHWC -> float32 NCHW ``(batch / 255 - mean) / std``, per channel."""
    mean = np.asarray(mean, np.float32)
    std = np.asarray(std, np.float32)
    x = (batch.astype(np.float32) / np.float32(255) - mean) / std
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
