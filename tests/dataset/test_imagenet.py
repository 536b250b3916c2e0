"""Tests for nnabla_nas.dataset.imagenet and file_loader, on real JPEG/PNG files.

The main fixture is a folder of 3 classes x 6 solid-colour JPEG images of
40x30 pixels, every image its own colour: a solid image stays solid through
any crop, resize and flip, so the colour of a sample tells which file it is.
"""

import json
import logging
import os

import numpy as np
import pytest
from PIL import Image

from nnabla_nas.dataset import DatasetError, ImageData, build_dataset, make_loaders
from nnabla_nas.dataset.file_loader import (FileDataLoader, eval_transform,
                                            random_resized_crop_box, train_transform)
from nnabla_nas.dataset.imagenet import MEAN, STD, imagenet
from nnabla_nas.dataset.loader import DataLoader
from nnabla_nas.utils.registry import ConfigError

#: Class folder names, deliberately not created in sorted order.
CLASSES = ("zebra", "ant", "mole")
PER_CLASS = 6
SMALL = {"image_size": 32, "resize": 36}


def colour(label, i):
    """Colour of image ``i`` of class ``label`` (classes in sorted order)."""
    return (40 + 80 * label, 40 + 30 * i, 220 - 30 * i)


PALETTE = np.array([colour(c, i) for c in range(3) for i in range(PER_CLASS)], float)


def make_folder(root, classes=CLASSES, per_class=PER_CLASS):
    """Solid-colour 40x30 JPEG files in ``root/<class>/<i>.jpg``."""
    for name in classes:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (40, 30), colour(sorted(CLASSES).index(name), i)).save(
                os.path.join(root, name, f"{i}.jpg"), quality=95)
    return str(root)


def save_array(path, array):
    Image.fromarray(array).save(path)
    return str(path)


def noise(h, w, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3)).astype(np.uint8)


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "train")


def identify(x):
    """Palette index (3 * label + i) of each sample of a normalised batch."""
    rgb = (x.mean(axis=(2, 3)) * np.array(STD) + np.array(MEAN)) * 255
    distance = ((rgb[:, None, :] - PALETTE[None]) ** 2).sum(-1)
    assert distance.min(axis=1).max() < 5 ** 2 * 3  # every sample is one of the colours
    return distance.argmin(axis=1)


# -- sources -------------------------------------------------------------------------
def test_folder_classes_sorted_and_labels(folder, tmp_path):
    val = make_folder(tmp_path / "val", classes=("mole", "ant"), per_class=2)
    data = imagenet(train_dir=folder, val_dir=val, **SMALL)
    assert data.classes == ("ant", "mole", "zebra") and data.num_classes == 3
    assert data.shape == (3, 32, 32) and len(data.train_files) == 18
    for files, labels in ((data.train_files, data.train_y), (data.test_files, data.test_y)):
        names = [os.path.basename(os.path.dirname(f)) for f in files]
        assert [data.classes[y] for y in labels] == names
    assert sorted(data.test_y.tolist()) == [0, 0, 1, 1]


def test_file_list_resolves_paths_against_its_folder(folder, tmp_path):
    os.rename(os.path.join(folder, "ant", "0.jpg"), os.path.join(folder, "ant", "0 a.jpg"))
    lines = ["# path label", ""] + [f"train/ant/{n} 2" for n in ("0 a.jpg", "1.jpg")] + \
        [f"train/mole/{i}.jpg 0" for i in range(3)]
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "val.txt").write_text("train/zebra/0.jpg 1\n")
    data = imagenet(train_list=str(tmp_path / "train.txt"), val_list=str(tmp_path / "val.txt"))
    assert data.train_y.tolist() == [2, 2, 0, 0, 0] and data.test_y.tolist() == [1]
    assert all(os.path.isfile(f) for f in data.train_files + data.test_files)
    assert data.train_files[0] == os.path.join(str(tmp_path), "train", "ant", "0 a.jpg")
    assert data.num_classes == 3 and data.classes == ()


def test_without_val_source_a_fixed_stratified_tenth_is_the_test_set(folder):
    data = imagenet(train_dir=folder)
    assert np.bincount(data.test_y).tolist() == [1, 1, 1]  # round(0.1 * 6) per class
    assert not set(data.test_files) & set(data.train_files)
    assert len(data.train_files) + len(data.test_files) == 18
    assert imagenet(train_dir=folder, seed=5).test_files == data.test_files


# -- transforms ------------------------------------------------------------------------
def test_normalisation_matches_numpy_for_a_solid_image(tmp_path):
    path = save_array(tmp_path / "solid.png", np.full((36, 48, 3), (200, 100, 50), np.uint8))
    expected = (np.array([200, 100, 50]) / 255.0 - np.array(MEAN)) / np.array(STD)
    for augment in (False, True):
        loader = FileDataLoader([path] * 2, [0, 0], 2, augment=augment, mean=MEAN, std=STD,
                                **SMALL)
        x, y = loader.next()
        assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32
        assert y.shape == (2, 1) and y.dtype == np.int32
        np.testing.assert_allclose(x, np.broadcast_to(expected[None, :, None, None], x.shape),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("width,height", [(48, 36), (30, 40)])
def test_eval_is_resize_then_center_crop(tmp_path, width, height):
    image = noise(height, width)
    img = Image.fromarray(image)
    if (width, height) == (48, 36):  # shorter side already 36: a pure crop at (8, 2)
        expected = image[2:34, 8:40]
    else:  # 30x40 -> 36x48 (int(36 * 40 / 30)), crop at left 2, top round(16 / 2) = 8
        expected = np.asarray(img.resize((36, 48), Image.BILINEAR))[8:40, 2:34]
    np.testing.assert_array_equal(eval_transform(img, 32, 36), expected)
    loader = FileDataLoader([save_array(tmp_path / "a.png", image)], [0], 1, **SMALL)
    x, _ = next(loader.epoch())
    np.testing.assert_allclose(x[0], expected.transpose(2, 0, 1) / 255.0, atol=1e-6)


def test_random_resized_crop_box_stays_inside_and_in_range():
    for seed in range(200):
        left, top, right, bottom = random_resized_crop_box(40, 30, np.random.RandomState(seed))
        assert 0 <= left < right <= 40 and 0 <= top < bottom <= 30
        w, h = right - left, bottom - top
        assert 0.08 * 1200 * 0.8 <= w * h and 0.7 <= w / h <= 1.45
    # No box of >= 8% of the area fits a 1000x10 strip: central crop at ratio 4/3.
    assert random_resized_crop_box(1000, 10, np.random.RandomState(0)) == (493, 0, 506, 10)


def test_train_transform_flips_about_half_the_time():
    half = np.zeros((30, 40, 3), np.uint8)
    half[:, 20:] = 255  # dark left half, bright right half
    img = Image.fromarray(half)
    sides = []
    for seed in range(100):
        out = train_transform(img, 16, np.random.RandomState(seed)).astype(int)
        if out[:, 0].mean() != out[:, -1].mean():
            sides.append(out[:, 0].mean() < out[:, -1].mean())
    assert 20 < sum(sides) < len(sides) - 20


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_other_modes_become_rgb(tmp_path, mode):
    img = Image.new("RGB", (40, 30), (90, 90, 90)).convert(mode)
    path = str(tmp_path / f"a.{'jpg' if mode == 'CMYK' else 'png'}")
    img.save(path)
    loader = FileDataLoader([path], [0], 1, **SMALL)
    x, _ = loader.next()
    assert loader.skipped == 0 and x.shape == (1, 3, 32, 32)
    rgb = eval_transform(Image.open(path).convert("RGB"), 32, 36) / 255.0
    np.testing.assert_allclose(x[0], rgb.transpose(2, 0, 1), atol=1e-6)


# -- loaders -------------------------------------------------------------------------
def test_make_loaders_shapes_and_sizes(folder):
    data = build_dataset({"imagenet": dict(train_dir=folder, **SMALL)})
    search = make_loaders(data, "search", 4, 3, seed=0)
    assert sorted(search) == ["train", "valid"]
    assert search["train"].size == 8 and search["valid"].size == 7  # 15 after the test tenth
    x, y = search["train"].next()
    assert x.shape == (4, 3, 32, 32) and y.shape == (4, 1) and search["train"].shape == (3, 32, 32)
    train = make_loaders(data, "train", 4, 8, seed=0)
    assert {k: v.size for k, v in train.items()} == {"train": 13, "valid": 2, "test": 3}
    assert len(train["train"]) == 4 and train["valid"].batch_size == 2
    assert [len(y) for _, y in train["train"].epoch()] == [4, 4, 4, 1]


def test_make_loaders_keeps_the_in_memory_path():
    data = ImageData(name="toy", train_x=np.zeros((10, 4, 4, 1), np.uint8),
                     train_y=np.arange(10) % 2, test_x=np.zeros((2, 4, 4, 1), np.uint8),
                     test_y=np.arange(2), mean=(0.0,), std=(1.0,))
    loaders = make_loaders(data, "search", 2, 2)
    assert all(type(loader) is DataLoader for loader in loaders.values())


def test_make_loaders_split_too_small_is_a_config_error(folder):
    data = imagenet(train_dir=folder, train_portion=0.1)
    with pytest.raises(ConfigError, match="dataloader.imagenet.train_portion=0.1 leaves 2"):
        make_loaders(data, "search", 4, 4)


def test_search_split_is_disjoint_and_every_image_once_per_epoch(folder):
    data = imagenet(train_dir=folder, val_dir=folder, seed=3, **SMALL)
    loaders = make_loaders(data, "search", 3, 3, seed=1)
    seen = {}
    for part, loader in loaders.items():
        stream = np.concatenate([identify(loader.next()[0]) for _ in range(6)])
        epochs = stream.reshape(-1, 9)  # 9 images each, 2 epochs
        assert all(sorted(epoch) == sorted(epochs[0]) for epoch in epochs)
        seen[part] = set(epochs[0])
    assert not seen["train"] & seen["valid"] and seen["train"] | seen["valid"] == set(range(18))
    again = make_loaders(imagenet(train_dir=folder, val_dir=folder, seed=3, **SMALL), "search",
                         3, 3, seed=7)
    assert set(identify(np.concatenate([x for x, _ in again["train"].epoch()]))) == \
        seen["train"]


def test_labels_follow_the_images(folder):
    loader = make_loaders(imagenet(train_dir=folder, **SMALL), "search", 4, 4)["train"]
    for _ in range(4):
        x, y = loader.next()
        np.testing.assert_array_equal(identify(x) // PER_CLASS, y[:, 0])


@pytest.fixture
def textured(tmp_path):
    """12 noise JPEG files of 40x30 in two classes, for crop and flip randomness."""
    for c in range(2):
        os.makedirs(tmp_path / "tex" / f"c{c}")
        for i in range(6):
            save_array(tmp_path / "tex" / f"c{c}" / f"{i}.jpg", noise(30, 40, seed=10 * c + i))
    return str(tmp_path / "tex")


def test_same_seed_same_batches_whatever_the_workers(textured):
    data = imagenet(train_dir=textured, val_dir=textured, **SMALL)

    def stream(seed, workers):
        data.workers = workers
        loader = make_loaders(data, "search", 4, 4, seed=seed)["train"]
        return [loader.next() for _ in range(4)]
    a, b, c = stream(7, 1), stream(7, 3), stream(8, 2)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))


def test_augmentation_differs_between_epochs(textured):
    files = imagenet(train_dir=textured, **SMALL).train_files[:2]
    loader = FileDataLoader(files, [0, 1], 2, augment=True, **SMALL)  # same order each epoch
    (x1, y1), (x2, y2) = loader.next(), loader.next()
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1[0], x2[0]) and not np.array_equal(x1[1], x2[1])


def test_resume_from_json_state_gives_identical_batches(textured):
    data = imagenet(train_dir=textured, val_dir=textured, **SMALL)
    first = make_loaders(data, "search", 4, 4, seed=0)["train"]
    for _ in range(2):  # stop in the middle of the second epoch, with a batch decoded ahead
        first.next()
    state = json.loads(json.dumps(first.state_dict()))
    assert set(state) == {"rng", "position", "permutation"} and state["position"] == 2
    expected = [first.next() for _ in range(5)]
    resumed = make_loaders(data, "search", 4, 4, seed=123)["train"]
    resumed.next()  # its own prefetched batch must be dropped
    resumed.load_state_dict(state)
    for (xe, ye), (xr, yr) in zip(expected, [resumed.next() for _ in range(5)]):
        np.testing.assert_array_equal(xe, xr)
        np.testing.assert_array_equal(ye, yr)
    with pytest.raises(ValueError, match="6 images"):
        make_loaders(imagenet(train_dir=textured, **SMALL), "search", 2, 2)["train"] \
            .load_state_dict(state)


# -- errors --------------------------------------------------------------------------
def test_undecodable_images_are_skipped_counted_and_named(folder, caplog):
    garbage = os.path.join(folder, "ant", "garbage.jpg")
    with open(garbage, "wb") as f:
        f.write(b"not a jpeg")
    truncated = os.path.join(folder, "mole", "truncated.jpg")
    Image.fromarray(noise(30, 40)).save(truncated)
    with open(truncated, "r+b") as f:
        f.truncate(200)
    data = imagenet(train_dir=folder, val_dir=folder, **SMALL)
    assert len(data.test_files) == 20
    loader = FileDataLoader(data.test_files, data.test_y, 5, shuffle=True, augment=True,
                            mean=MEAN, std=STD, **SMALL)
    with caplog.at_level(logging.WARNING, logger="nnabla_nas.dataset.file_loader"):
        batches = [loader.next() for _ in range(8)]  # two epochs
    assert all(len(x) == 5 for x, _ in batches)
    for x, y in batches:  # the stand-ins are decoded images of the batch, with their labels
        np.testing.assert_array_equal(identify(x) // PER_CLASS, y[:, 0])
    assert loader.skipped == 2 and len(caplog.records) == 2  # one warning per file
    assert {garbage, truncated} == {m.split("'")[1] for m in caplog.messages}
    assert "2 skipped so far" in caplog.messages[1]
    test = make_loaders(data, "train", 5, 8)["test"]
    assert sum(len(y) for _, y in test.epoch()) == 18 and test.skipped == 2


def test_a_batch_of_only_undecodable_images_raises(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG broken")
    loader = FileDataLoader([str(path)] * 2, [0, 0], 2, **SMALL)
    with pytest.raises(DatasetError, match="none of the 2 images"):
        loader.next()
    assert loader.skipped == 1


def test_empty_class_folder_is_an_error(folder):
    os.makedirs(os.path.join(folder, "bee"))
    with open(os.path.join(folder, "bee", "notes.txt"), "w") as f:
        f.write("no images here")
    with pytest.raises(DatasetError, match="1 class folders without .* e.g. 'bee'"):
        imagenet(train_dir=folder)


@pytest.mark.parametrize("options,expected", [
    ({}, "dataloader.imagenet.train_dir: missing"),
    ({"train_dir": "/nowhere"}, "dataloader.imagenet.train_dir: folder '/nowhere' does not"),
    ({"train_list": "/nowhere.txt"}, "dataloader.imagenet.train_list: file '/nowhere.txt'"),
    ({"train_dir": "F", "val_dir": "/nowhere"}, "dataloader.imagenet.val_dir: folder"),
    ({"train_dir": "F", "val_list": "/nowhere.txt"}, "dataloader.imagenet.val_list: file"),
    ({"train_dir": "F", "train_list": "x"}, "dataloader.imagenet.train_dir: give train_dir "
                                            "or train_list, not both"),
    ({"train_dir": "F", "resize": 200}, "dataloader.imagenet.resize: expected at least "
                                        r"image_size \(224\), got 200"),
    ({"train_dir": "F", "workers": 0}, "dataloader.imagenet.workers: expected a positive"),
    ({"train_dir": "F", "image_size": 0}, "dataloader.imagenet.image_size: expected a pos"),
    ({"train_dir": "F", "workers": 1.5}, "dataloader.imagenet.workers: expected an integer"),
    ({"train_dir": "F", "shuffle": True}, "dataloader.imagenet: unknown key 'shuffle'"),
])
def test_config_errors_name_the_key(folder, options, expected):
    options = {k: folder if v == "F" else v for k, v in options.items()}
    with pytest.raises(ConfigError, match=expected) as err:
        build_dataset({"imagenet": options})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content,expected", [
    ("a.jpg\n", "line 1: expected 'path label'"),
    ("# only a comment\n", "lists no images"),
    ("a.jpg -1\n", "line 1"),
])
def test_bad_file_lists(tmp_path, content, expected):
    path = tmp_path / "list.txt"
    path.write_text(content)
    with pytest.raises(DatasetError, match=expected) as err:
        imagenet(train_list=str(path))
    assert str(path) in str(err.value)


def test_bad_folders(folder, tmp_path):
    os.makedirs(tmp_path / "flat")
    with pytest.raises(DatasetError, match="no class subfolders"):
        imagenet(train_dir=str(tmp_path / "flat"))
    other = make_folder(tmp_path / "val", classes=("ant",), per_class=1)
    os.rename(os.path.join(other, "ant"), os.path.join(other, "ape"))
    with pytest.raises(DatasetError, match="not training classes, e.g. 'ape'"):
        imagenet(train_dir=folder, val_dir=other)


def test_shards_of_file_batches_are_the_single_process_batches(folder):
    """Data parallelism: each rank decodes only its part of every global batch,
    with the per-image seeds one process would use, so the parts side by side
    are the single-process batch; evaluation parts cover each file once."""
    data = imagenet(train_dir=folder, val_dir=folder, **SMALL)
    whole = FileDataLoader(data.test_files, data.test_y, 6, shuffle=True, augment=True,
                           mean=MEAN, std=STD, rng=3, **SMALL)
    shards = [FileDataLoader(data.test_files, data.test_y, 6, shuffle=True, augment=True,
                             mean=MEAN, std=STD, rng=3, shard=(r, 2), **SMALL) for r in (0, 1)]
    for _ in range(4):  # across an epoch boundary (18 files)
        x, y = whole.next()
        parts = [s.next() for s in shards]
        np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), x)
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), y)
    assert [s.state_dict() for s in shards] == [whole.state_dict()] * 2
    seen = sorted(int(label) for s in shards for _, labels in s.epoch() for label in labels)
    assert seen == sorted(data.test_y.tolist()) and len(shards[0]) == len(whole) == 3
    for loader in [whole, *shards]:
        loader.close()
