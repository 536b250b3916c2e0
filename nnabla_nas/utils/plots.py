"""Learning-curve pictures (matplotlib, Agg backend: no display needed)."""

import csv
from collections import defaultdict

from .io import atomic_path


def draw_curves(csv_path: str, png_path: str) -> None:
    """Plots loss and error per epoch for each split of a ``metrics.csv``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = defaultdict(lambda: ([], [], []))
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            epochs, losses, errors = series[row["split"]]
            epochs.append(int(row["epoch"]))
            losses.append(float(row["loss"]))
            errors.append(float(row["error"]))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for split, (epochs, losses, errors) in sorted(series.items()):
        axes[0].plot(epochs, losses, marker="o", label=split)
        axes[1].plot(epochs, errors, marker="o", label=split)
    for ax, title in zip(axes, ("loss", "top-1 error")):
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
