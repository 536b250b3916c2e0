"""Tests for nnabla_nas.dataset.transforms against numpy references."""

import numpy as np
import pytest

from nnabla_nas.dataset.transforms import (crop_flip, cutout, horizontal_flip, mean_fill,
                                           normalize, random_crop)


def random_images(n=40, h=6, w=6, c=3, seed=0):
    return np.random.RandomState(seed).randint(1, 256, size=(n, h, w, c)).astype(np.uint8)


def crops(image, padding):
    """Every crop random_crop may return for one image."""
    h, w, _ = image.shape
    padded = np.pad(image, ((padding, padding), (padding, padding), (0, 0)))
    return [padded[t:t + h, l:l + w] for t in range(2 * padding + 1)
            for l in range(2 * padding + 1)]


def test_random_crop_returns_shifted_zero_padded_crops():
    images = random_images()
    out = random_crop(images, np.random.RandomState(0), padding=2)
    assert out.shape == images.shape and out.dtype == np.uint8
    for original, cropped in zip(images, out):
        assert any(np.array_equal(cropped, c) for c in crops(original, 2))
    moved = [not np.array_equal(o, c) for o, c in zip(images, out)]
    assert sum(moved) > len(images) // 2  # 24 of 25 offsets move the image


def test_horizontal_flip_mirrors_about_half():
    images = random_images()
    out = horizontal_flip(images, np.random.RandomState(0))
    flipped = [np.array_equal(o, i[:, ::-1]) for i, o in zip(images, out)]
    kept = [np.array_equal(o, i) for i, o in zip(images, out)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 5 < sum(flipped) < 35


@pytest.mark.parametrize("length", [1, 3, 4])
def test_cutout_fills_one_clipped_square(length):
    images = np.full((30, 8, 8, 3), 200, np.uint8)
    out = cutout(images, np.random.RandomState(0), length, fill=(10, 20, 30))
    assert out.shape == images.shape
    for image in out:
        changed = np.any(image != 200, axis=-1)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        assert 1 <= len(rows) <= length and 1 <= len(cols) <= length
        assert changed[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()  # a rectangle
        assert changed.sum() == len(rows) * len(cols)
        np.testing.assert_array_equal(image[changed], np.tile([10, 20, 30], (changed.sum(), 1)))


def test_crop_flip_is_deterministic_and_leaves_input_alone():
    images = random_images(h=32, w=32)
    copy = images.copy()
    augment = crop_flip(padding=4, cutout_length=8)
    a = augment(images, np.random.RandomState(5))
    b = augment(images, np.random.RandomState(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(images, copy)
    assert a.shape == images.shape and not np.array_equal(a, images)


def test_mean_fill():
    assert mean_fill((0.0, 0.5, 1.0)) == (0, 128, 255)


def test_normalize_matches_numpy():
    images = random_images(n=3, h=4, w=5, c=2)
    out = normalize(images, (0.3, 0.6), (0.5, 0.1))
    expected = ((images / 255.0 - [0.3, 0.6]) / [0.5, 0.1]).transpose(0, 3, 1, 2)
    assert out.dtype == np.float32 and out.shape == (3, 2, 4, 5)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
