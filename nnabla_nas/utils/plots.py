"""Learning-curve pictures (matplotlib, Agg backend: no display needed)."""

import csv
from collections import defaultdict

from .io import atomic_path


#: Architecture columns of ``metrics.csv`` drawn in a third panel when present.
ARCH_COLUMNS = ("alpha_entropy", "alpha_max_prob", "param_free_share")


def draw_curves(csv_path: str, png_path: str) -> None:
    """Plots loss and error per epoch for each split of a ``metrics.csv``, and
    the architecture figures of a search (:data:`ARCH_COLUMNS`) when it has them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = defaultdict(lambda: ([], [], []))
    arch = defaultdict(lambda: ([], []))
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            epochs, losses, errors = series[row["split"]]
            epochs.append(int(row["epoch"]))
            losses.append(float(row["loss"]))
            errors.append(float(row["error"]))
            for key in ARCH_COLUMNS:
                if row.get(key):
                    arch[key][0].append(int(row["epoch"]))
                    arch[key][1].append(float(row[key]))
    titles = ["loss", "top-1 error"] + (["architecture"] if arch else [])
    fig, axes = plt.subplots(1, len(titles), figsize=(5 * len(titles), 4))
    for split, (epochs, losses, errors) in sorted(series.items()):
        axes[0].plot(epochs, losses, marker="o", label=split)
        axes[1].plot(epochs, errors, marker="o", label=split)
    for key, (epochs, values) in arch.items():
        axes[2].plot(epochs, values, marker="o", label=key)
    if arch:
        axes[2].set_ylim(-0.02, 1.02)
    for ax, title in zip(axes, titles):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
