"""scikit-learn's bundled 8x8 handwritten digits: a tiny real dataset, no download.

1797 grayscale images in 10 classes (``sklearn.datasets.load_digits``). Pixel
values 0..16 are rescaled to 0..255. A fixed, stratified 20% is the test set.
"""

import numpy as np

from .data import ImageData, channel_stats, check_split_options, stratified_split
from .registry import DATASETS
from .transforms import crop_flip

#: Fraction of each class in the test set.
TEST_PORTION = 0.2
#: Seed of the test split: fixed, so the test set never depends on the user's seed.
TEST_SEED = 20170401


@DATASETS.register("digits")
def digits(*, train_portion: float = 0.5, valid_portion: float = 0.1, seed: int = 0,
           augment: bool = False) -> ImageData:
    """Builds the digits dataset, uint8 ``(N, 8, 8, 1)``.

    Args:
        train_portion: Search mode fraction of the training set for weight
            steps; the rest is for architecture steps.
        valid_portion: Train mode fraction of the training set held out for
            validation.
        seed: Seed of the train/valid split.
        augment: Shift training images randomly by up to one pixel (zero
            padding); no flip, digits are not mirror symmetric.

    Raises:
        ConfigError: If a portion is not strictly between 0 and 1.
    """
    check_split_options("digits", train_portion, valid_portion)
    from sklearn.datasets import load_digits  # slow import, only when used
    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.int64)
    train, test = stratified_split(labels, TEST_PORTION, TEST_SEED)
    mean, std = channel_stats(images[train])
    return ImageData(name="digits", train_x=images[train], train_y=labels[train],
                     test_x=images[test], test_y=labels[test], mean=mean, std=std,
                     augment=crop_flip(padding=1, flip=False) if augment else None,
                     train_portion=train_portion, valid_portion=valid_portion,
                     split_seed=seed)
