"""Readable exports of a MobileNetV2 genotype: ``arch.json`` and a picture
``arch.png`` (matplotlib, Agg: no display needed), both written atomically.

The genotype layout is described in :mod:`.genotype`.
"""

import json
from typing import Any, Dict

from ....utils.io import atomic_path, write_text_atomic
from .blocks import SKIP
from .genotype import Genotype

#: Box colour per depthwise kernel size (``None``: the skip).
_COLORS = {3: "#b3d4f2", 5: "#b4e5b4", 7: "#f6c68f", None: "#dddddd"}
_EDGE = "#333333"
_ROW = 0.55          # inches per block
_WIDTH = 7.0         # inches


def save_genotype(genotype: Genotype, path: str) -> None:
    """Writes ``genotype`` to ``path`` as a JSON list, one block per line, atomically."""
    text = "[\n" + ",\n".join(f"  {json.dumps(entry)}" for entry in genotype) + "\n]\n"
    assert json.loads(text) == genotype, "genotype JSON does not round-trip"
    write_text_atomic(path, text)


def _label(entry: Dict[str, Any]) -> str:
    shape = f"{entry['in_channels']} -> {entry['out_channels']} ch, stride {entry['stride']}"
    prob = "" if entry.get("prob") is None else f", p={entry['prob']:.2f}"
    return f"{entry['op']:<8}  {shape}{prob}"


def draw_genotype(genotype: Genotype, path: str, title: str = "") -> None:
    """Draws the blocks top to bottom, one box each (operation, channels,
    stride, probability; the colour tells the kernel size, a wide box an
    expansion of 6 or more), and writes a PNG to ``path``, atomically.

    Args:
        genotype: One entry per searchable block (layout in :mod:`.genotype`).
        path: Output ``.png`` path.
        title: Title above the picture.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    rows = len(genotype) + 2                      # input / output markers
    header = 0.35 + (0.4 if title else 0.0)       # legend (+ title) above the blocks
    height = rows * _ROW + header
    fig = Figure(figsize=(_WIDTH, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, rows * _ROW / height))
    ax.set_xlim(0, 10)
    ax.set_ylim(rows - 0.5, -0.5)                 # row 0 at the top
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=13, y=1 - 0.08 / height, va="top")
    legend = [Patch(facecolor=_COLORS[k], edgecolor=_EDGE, label=f"{k}x{k}" if k else SKIP)
              for k in (3, 5, 7, None)]
    fig.legend(handles=legend, loc="lower center", ncol=4, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, (rows * _ROW + 0.02) / height),
               title="colour: depthwise kernel; wide box: expansion 6", title_fontsize=8)

    def arrow(y0: float, y1: float) -> None:
        ax.add_patch(FancyArrowPatch((5, y0), (5, y1), arrowstyle="-|>", color="#888888",
                                     mutation_scale=10, zorder=1))

    ax.text(5, 0, "input (after stem and MB1 3x3)", ha="center", va="center", fontsize=9,
            color="#555555")
    for row, entry in enumerate(genotype, start=1):
        half = 4.4 if (entry.get("expansion") or 0) >= 6 else 3.6
        box = FancyBboxPatch((5 - half, row - 0.32), 2 * half, 0.64,
                             boxstyle="round,pad=0.02,rounding_size=0.12",
                             facecolor=_COLORS.get(entry.get("kernel"), "#eeeeee"),
                             edgecolor=_EDGE, linestyle="--" if entry["op"] == SKIP else "-",
                             zorder=2)
        ax.add_patch(box)
        ax.text(5 - half - 0.12, row, str(entry["block"]), ha="right", va="center",
                fontsize=9, color="#555555")
        ax.text(5, row, _label(entry), ha="center", va="center", fontsize=10,
                family="monospace", zorder=3)
        arrow(row - 0.72, row - 0.34)
    ax.text(5, rows - 1, "1x1 conv, pool, classifier", ha="center", va="center", fontsize=9,
            color="#555555")
    arrow(rows - 1.72, rows - 1.2)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
