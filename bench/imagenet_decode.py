"""Throughput of the ``imagenet`` loader: JPEG decoding plus transforms, by worker count.

Writes N real 500x375 JPEG files (smooth random content plus noise, quality
90, about the size of an ImageNet photo) to a temporary folder, then for each
worker count times passes over them with
:class:`~nnabla_nas.dataset.file_loader.FileDataLoader`:

* ``train``: :meth:`next` with random resized crop and flip (shuffled);
* ``eval``: :meth:`epoch`, resize of the shorter side and center crop.

Each figure is the median of ``--passes`` passes after one warm-up pass, in
images per second, with the process CPU time over wall time of the same
passes ("cores busy": above 1 when the threads decode in parallel). The
files are in the page cache, so this measures decoding and transforms, not
disk reads. Other load on the machine lowers both; the 1-minute load
average is printed before and after.

Usage::

    .venv/bin/python bench/imagenet_decode.py [--images 256] [--workers 1 2 4]
"""

import argparse
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from typing import Callable, List, Tuple

import numpy as np
from PIL import Image

from nnabla_nas.dataset.file_loader import FileDataLoader
from nnabla_nas.dataset.imagenet import MEAN, STD
from nnabla_nas.export.latency import cpu_model

WIDTH, HEIGHT = 500, 375


def write_images(folder: str, count: int, seed: int = 0) -> List[str]:
    """``count`` photo-like JPEG files of 500x375 in ``folder``."""
    rng = np.random.RandomState(seed)
    paths = []
    for i in range(count):
        coarse = Image.fromarray(rng.randint(0, 256, (HEIGHT // 10, WIDTH // 10, 3))
                                 .astype(np.uint8)).resize((WIDTH, HEIGHT), Image.BICUBIC)
        pixels = np.asarray(coarse, np.float32) + rng.normal(0, 8, (HEIGHT, WIDTH, 3))
        path = os.path.join(folder, f"{i:05d}.jpg")
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def measure(run_pass: Callable[[], int], passes: int) -> Tuple[float, float]:
    """Images per second of ``run_pass`` (which returns its image count) and cores
    busy (CPU time / wall time): medians of ``passes`` passes after a warm-up pass."""
    run_pass()
    rates, busy = [], []
    for _ in range(passes):
        wall, cpu = time.perf_counter(), time.process_time()
        count = run_pass()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rates.append(count / wall)
        busy.append(cpu / wall)
    return statistics.median(rates), statistics.median(busy)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256, help="number of JPEG files")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--passes", type=int, default=3, help="timed passes per figure")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--resize", type=int, default=256)
    args = parser.parse_args(argv)
    if args.images % args.batch_size:
        parser.error("--images must be a multiple of --batch-size")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="imagenet_decode_") as folder:
        start = time.perf_counter()
        files = write_images(folder, args.images)
        size_kb = sum(os.path.getsize(f) for f in files) / len(files) / 1024
        print(f"wrote {len(files)} JPEG files of {WIDTH}x{HEIGHT} (mean {size_kb:.0f} KB) "
              f"in {time.perf_counter() - start:.1f} s")
        labels = np.zeros(len(files), np.int64)
        rows = []
        for workers in args.workers:
            def loader(augment):
                return FileDataLoader(files, labels, args.batch_size, args.image_size,
                                      args.resize, shuffle=augment, augment=augment,
                                      mean=MEAN, std=STD, workers=workers, rng=0)
            train, evaluate = loader(True), loader(False)
            steps = len(files) // args.batch_size

            def train_pass():
                return sum(len(train.next()[1]) for _ in range(steps))

            def eval_pass():
                return sum(len(y) for _, y in evaluate.epoch())
            rows.append((workers,) + measure(train_pass, args.passes)
                        + measure(eval_pass, args.passes))
            train.close()
            evaluate.close()

    print(f"\nimages/s, image_size {args.image_size} (eval resize {args.resize}), batch "
          f"{args.batch_size}, median of {args.passes} passes over {args.images} images "
          "after a warm-up")
    print("| workers | train img/s (crop+flip) | cores busy | eval img/s (resize+crop) | "
          "cores busy |")
    print("|--------:|------------------------:|-----------:|-------------------------:|"
          "-----------:|")
    for workers, train_rate, train_busy, eval_rate, eval_busy in rows:
        print(f"| {workers:7d} | {train_rate:23.0f} | {train_busy:10.2f} | {eval_rate:24.0f} | "
              f"{eval_busy:10.2f} |")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"\nmachine: {cpu_model()}; platform.processor(): {platform.processor() or '-'}; "
          f"os.cpu_count(): {os.cpu_count()}, usable: {usable}; load average (1 min) "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"Pillow {Image.__version__}")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv))


if __name__ == "__main__":
    main()
