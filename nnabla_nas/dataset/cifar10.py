"""CIFAR-10 read from the official python-format archive, downloaded on first use.

The archive ``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/data_batch_1``
to ``_5`` (training, 50000 images) and ``test_batch`` (10000 images): pickled
dicts with ``b"data"``, uint8 ``(n, 3072)`` rows laid out channel-major (CHW),
and ``b"labels"``. Every member is unpickled with
:class:`~nnabla_nas.dataset.safe_pickle.RestrictedUnpickler`, whatever its
checksum, so a doctored archive cannot run code.

References:
    Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009.
"""

import hashlib
import os
import tarfile
import zlib
from typing import Dict, Optional, Tuple

import numpy as np

from ..utils.io import atomic_path
from ..utils.registry import ConfigError
from .data import DatasetError, ImageData, check_split_options, one_line
from .registry import DATASETS
from .safe_pickle import UnsafePickleError, restricted_loads
from .transforms import crop_flip, mean_fill

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE = "cifar-10-python.tar.gz"
MEMBERS = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)) + \
    ("cifar-10-batches-py/test_batch",)
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
#: Environment variable naming the default data folder.
DATA_ENV = "NNABLA_NAS_DATA"


def default_data_dir() -> str:
    """``$NNABLA_NAS_DATA`` if set, else ``~/.cache/nnabla_nas``."""
    return os.environ.get(DATA_ENV) or os.path.join(os.path.expanduser("~"), ".cache",
                                                    "nnabla_nas")


def md5sum(path: str) -> str:
    """Hex md5 digest of a file."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(url: str, path: str, md5: Optional[str] = None) -> None:
    """Downloads ``url`` to ``path`` with a progress bar, atomically.

    The data goes to a temporary file beside ``path``, which is checked
    against ``md5`` (when given) and only then renamed onto ``path``; on any
    error ``path`` is left as it was.

    Raises:
        DatasetError: If the download fails or the checksum differs.
    """
    # Imported here: urllib.request pulls in ssl, http and email, which a search
    # on data already on disk never needs.
    import urllib.error
    import urllib.request

    from tqdm import tqdm
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True,
                          desc=f"downloading {os.path.basename(path)}") as bar:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise DatasetError(f"cannot download '{url}' to '{path}' ({one_line(err)})") from None
        if md5 is not None:
            actual = md5sum(tmp)
            if actual != md5:
                raise DatasetError(f"download of '{url}' has md5 {actual}, expected {md5}; "
                                   f"'{path}' was not written")


def fetch_archive(data_dir: str = "", download: bool = True, verify: bool = True,
                  url: str = URL) -> str:
    """Path of the CIFAR-10 archive in ``data_dir``, downloading it if missing.

    Args:
        data_dir: Folder of the archive; empty for :func:`default_data_dir`.
        download: Download the archive when it is missing.
        verify: Check the archive's md5 against the official :data:`MD5`.
        url: Where to download from.

    Raises:
        ConfigError: If the archive is missing and ``download`` is false.
        DatasetError: If the download fails or the checksum differs.
    """
    path = os.path.join(data_dir or default_data_dir(), ARCHIVE)
    if not os.path.isfile(path):
        if not download:
            raise ConfigError(f"dataloader.cifar10: '{path}' does not exist and download is "
                              "false; set data_dir to the folder holding it or download to true")
        download_file(url, path, MD5 if verify else None)
    elif verify:
        actual = md5sum(path)
        if actual != MD5:
            raise DatasetError(f"cifar10 archive '{path}' has md5 {actual}, expected {MD5}; "
                               "delete it to download it again")
    return path


def _decode_batch(data: bytes, source: str) -> Tuple[np.ndarray, np.ndarray]:
    """Unpickles one batch member into uint8 NHWC images and int64 labels."""
    try:
        batch = restricted_loads(data, source)
    except UnsafePickleError:
        raise
    except Exception as err:  # any malformed pickle: report the member, not a traceback
        raise DatasetError(f"{source} is not a readable pickle ({one_line(err)})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DatasetError(f"{source} is not a CIFAR batch (a dict with b'data' and b'labels')")
    x, y = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 \
            or x.shape[1] != 3 * 32 * 32:
        raise DatasetError(f"{source}: b'data' must be uint8 of shape (n, 3072), got "
                           f"{getattr(x, 'dtype', type(x).__name__)} {np.shape(x)}")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) \
            or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise DatasetError(f"{source}: b'labels' must be {len(x)} integers in 0..9")
    return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), y.astype(np.int64)


def read_archive(path: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decodes the archive in one sequential pass.

    Returns:
        ``(train_x, train_y, test_x, test_y)``: uint8 ``(N, 32, 32, 3)`` and int64.

    Raises:
        UnsafePickleError: If a member references a refused global.
        DatasetError: If the archive is corrupted, truncated or lacks a member.
    """
    batches: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for info in tar:
                if info.name in MEMBERS and info.isfile():
                    data = tar.extractfile(info).read()
                    batches[info.name] = _decode_batch(data, f"'{path}' member '{info.name}'")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise DatasetError(f"cifar10 archive '{path}' is corrupted or truncated "
                           f"({one_line(err)}); delete it to download it again") from None
    missing = [m for m in MEMBERS if m not in batches]
    if missing:
        raise DatasetError(f"cifar10 archive '{path}' has no member '{missing[0]}'")
    train = [batches[m] for m in MEMBERS[:-1]]
    test_x, test_y = batches[MEMBERS[-1]]
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            np.ascontiguousarray(test_x), test_y)


@DATASETS.register("cifar10")
def cifar10(*, train_portion: float = 0.5, valid_portion: float = 0.1, seed: int = 0,
            data_dir: str = "", download: bool = True, cutout: int = 0, verify: bool = True,
            url: str = URL) -> ImageData:
    """Builds CIFAR-10, uint8 ``(N, 32, 32, 3)``, with the standard augmentation.

    Training batches get a random crop with 4 pixels of zero padding and a
    random horizontal flip, then optionally cutout. Cutout is applied to the
    uint8 images, filled with the mean colour, so the square is about zero
    after normalisation (as with cutout applied to normalised images).

    Args:
        train_portion: Search mode fraction of the training set for weight
            steps; the rest is for architecture steps.
        valid_portion: Train mode fraction of the training set held out for
            validation.
        seed: Seed of the train/valid split.
        data_dir: Folder of ``cifar-10-python.tar.gz``; empty for
            ``$NNABLA_NAS_DATA`` or else ``~/.cache/nnabla_nas``.
        download: Download the archive when it is missing.
        cutout: Cutout square side in pixels; 0 disables cutout.
        verify: Check the archive's md5 (turn off only for test archives;
            members are unpickled with the restricted unpickler either way).
        url: Where to download the archive from (a mirror, or ``file://``).

    Raises:
        ConfigError: If an option is out of range or the archive is missing
            and ``download`` is false.
        DatasetError: If the archive cannot be downloaded, has the wrong
            checksum or is corrupted.
        UnsafePickleError: If a member tries to load a refused global.
    """
    check_split_options("cifar10", train_portion, valid_portion)
    if not 0 <= cutout <= 32:
        raise ConfigError(f"dataloader.cifar10.cutout: expected 0 (off) to 32 pixels, "
                          f"got {cutout!r}")
    train_x, train_y, test_x, test_y = read_archive(fetch_archive(data_dir, download, verify, url))
    return ImageData(name="cifar10", train_x=train_x, train_y=train_y, test_x=test_x,
                     test_y=test_y, mean=MEAN, std=STD,
                     augment=crop_flip(padding=4, cutout_length=int(cutout),
                                       cutout_fill=mean_fill(MEAN)),
                     train_portion=train_portion, valid_portion=valid_portion,
                     split_seed=seed)
