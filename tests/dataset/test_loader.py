"""Tests for nnabla_nas.dataset.loader: fixed-size streaming, epochs, resume."""

import json

import numpy as np
import pytest

from nnabla_nas.dataset.loader import DataLoader
from nnabla_nas.dataset.transforms import crop_flip


def indexed_images(n, size=4, channels=1):
    """Images whose every pixel is their index, so a batch tells which images it holds."""
    return np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None],
                           (n, size, size, channels)).copy()


def batch_indices(x):
    """Inverse of :func:`indexed_images` for mean 0, std 1."""
    return np.rint(x[:, 0, 0, 0] * 255).astype(int)


def test_next_shapes_dtypes_and_len():
    loader = DataLoader(indexed_images(10, channels=3), np.arange(10) % 3, batch_size=4,
                        mean=(0, 0, 0), std=(1, 1, 1))
    x, y = loader.next()
    assert x.shape == (4, 3, 4, 4) and x.dtype == np.float32
    assert y.shape == (4, 1) and y.dtype == np.int32
    assert loader.size == 10 and loader.batch_size == 4 and len(loader) == 3


@pytest.mark.parametrize("shuffle", [True, False])
def test_next_uses_every_image_once_per_epoch(shuffle):
    n, batch = 10, 3
    loader = DataLoader(indexed_images(n), np.arange(n), batch, shuffle=shuffle, rng=1)
    xs, ys = zip(*(loader.next() for _ in range(20)))  # 60 samples = 6 epochs
    assert all(len(y) == batch for y in ys)
    stream = np.concatenate(ys)[:, 0]
    np.testing.assert_array_equal(np.concatenate([batch_indices(x) for x in xs]), stream)
    epochs = stream.reshape(6, n)
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(n))
    if shuffle:
        assert len({tuple(order) for order in epochs}) > 1
    else:
        assert all((order == np.arange(n)).all() for order in epochs)


def test_too_few_images_raises():
    with pytest.raises(ValueError, match="only 3 images for a batch size of 4"):
        DataLoader(indexed_images(3), np.arange(3), batch_size=4)


def test_normalisation_matches_numpy():
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(6, 5, 7, 3)).astype(np.uint8)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    loader = DataLoader(images, np.zeros(6), batch_size=6, mean=mean, std=std)
    x, _ = loader.next()
    expected = (images / 255.0 - np.array(mean)) / np.array(std)
    np.testing.assert_allclose(x, expected.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-6)


def test_epoch_is_ordered_unaugmented_and_leaves_next_alone():
    n = 10
    marker = lambda batch, rng: np.full_like(batch, 255)  # noqa: E731
    loader = DataLoader(indexed_images(n), np.arange(n), 4, shuffle=True,
                        augment=marker, rng=3)
    before = loader.state_dict()
    batches = list(loader.epoch())
    assert [len(y) for _, y in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches])[:, 0], np.arange(n))
    np.testing.assert_array_equal(np.concatenate([batch_indices(x) for x, _ in batches]),
                                  np.arange(n))
    assert loader.state_dict() == before
    x, _ = loader.next()
    assert np.all(x == 1.0)  # next() does augment


def test_same_seed_same_batches_different_seed_different():
    def stream(seed):
        loader = DataLoader(indexed_images(20, size=8), np.arange(20), 5, shuffle=True,
                            augment=crop_flip(padding=2), rng=seed)
        return [loader.next() for _ in range(6)]
    a, b, c = stream(7), stream(7), stream(8)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(ya, yc) for (_, ya), (_, yc) in zip(a, c))


def test_resume_from_json_state_gives_identical_batches():
    images = np.random.RandomState(0).randint(0, 256, size=(13, 8, 8, 3)).astype(np.uint8)

    def make(seed):
        return DataLoader(images, np.arange(13) % 4, 4, shuffle=True,
                          augment=crop_flip(padding=2), mean=(0.5,) * 3, std=(0.25,) * 3,
                          rng=seed)
    first = make(0)
    for _ in range(5):  # stop in the middle of the second epoch
        first.next()
    state = json.loads(json.dumps(first.state_dict()))
    expected = [first.next() for _ in range(8)]
    resumed = make(123)
    resumed.load_state_dict(state)
    for (xe, ye), (xr, yr) in zip(expected, [resumed.next() for _ in range(8)]):
        np.testing.assert_array_equal(xe, xr)
        np.testing.assert_array_equal(ye, yr)


def test_load_state_dict_rejects_other_loader():
    state = DataLoader(indexed_images(6), np.arange(6), 2, shuffle=True).state_dict()
    with pytest.raises(ValueError, match="6 images"):
        DataLoader(indexed_images(8), np.arange(8), 2).load_state_dict(state)


@pytest.mark.parametrize("augment", [None, crop_flip(padding=1)])
def test_shards_split_every_global_batch_as_one_process_sees_it(augment):
    """Data parallelism: the ranks' batches, put side by side, are the batches of
    one process with the global batch size (augmented alike), and every loader
    keeps the same position and random state."""
    x, y = indexed_images(30, channels=3), np.arange(30)
    whole = DataLoader(x, y, 12, shuffle=True, augment=augment, rng=5)
    shards = [DataLoader(x, y, 12, shuffle=True, augment=augment, rng=5, shard=(r, 3))
              for r in range(3)]
    assert [s.batch_size for s in shards] == [4, 4, 4] and len(shards[0]) == len(whole) == 3
    for _ in range(7):  # across epoch boundaries
        bx, by = whole.next()
        parts = [s.next() for s in shards]
        np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), bx)
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), by)
    states = [json.dumps(s.state_dict()) for s in shards]
    assert states == [json.dumps(whole.state_dict())] * 3


def test_shards_of_an_evaluation_pass_cover_each_image_once():
    x, y = indexed_images(23), np.arange(23)
    shards = [DataLoader(x, y, 8, shard=(r, 4)) for r in range(4)]
    seen = [label for s in shards for _, labels in s.epoch() for label in labels.ravel()]
    assert sorted(seen) == sorted(y.tolist())
    # the short last batch (7 images) gives 1 or 2 images per rank; none is empty here
    assert [sum(len(b[0]) for b in s.epoch()) for s in shards] == [5, 6, 6, 6]


def test_shard_that_does_not_divide_the_batch_raises():
    x, y = indexed_images(20), np.arange(20)
    with pytest.raises(ValueError, match="batch_size 10 cannot be split into 4 equal parts"):
        DataLoader(x, y, 10, shard=(1, 4))
