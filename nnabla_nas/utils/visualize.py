"""Pictures of a DARTS cell: a PNG drawn with matplotlib alone (Agg, no
Graphviz needed) and a Graphviz ``.dot`` file for those who have it.

A cell genotype is one list of edges ``{"op", "input", "prob"?}`` per
intermediate node (see :mod:`nnabla_nas.contrib.classification.darts.genotype`);
input 0 is ``c_{k-2}``, 1 is ``c_{k-1}``, ``2 + j`` is node ``j``.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .io import atomic_path, write_text_atomic

CellGenotype = List[List[Dict[str, Any]]]

_INPUTS = ("c_{k-2}", "c_{k-1}")
_OUTPUT = "c_{k}"
_COLORS = {"input": "#b4e5b4", "node": "#b3d4f2", "output": "#f2e5a7"}
_EDGE_COLORS = ("#1b7837", "#2166ac", "#b2182b", "#762a83", "#e08214", "#35978f", "#8c510a")
_RADIUS = 0.42
_LABEL_AT = 0.6  # edge labels sit a little past the middle, towards the target


def _node_name(input_index: int) -> str:
    return _INPUTS[input_index] if input_index < 2 else str(input_index - 2)


def _edge_label(edge: Dict[str, Any]) -> str:
    prob = edge.get("prob")
    return edge["op"] if prob is None else f"{edge['op']} ({prob:.2f})"


def _concat(cell_genotype: CellGenotype, concat: Optional[Sequence[int]]) -> List[int]:
    return list(range(len(cell_genotype))) if concat is None else list(concat)


def _positions(num_nodes: int) -> Dict[str, Tuple[float, float]]:
    """Node centres on one ellipse, read left to right: the cell inputs on the
    left, the nodes in order along the upper arc, the output on the right.

    On a convex curve no straight edge passes through a third node.
    """
    half_width = 1.5 * (num_nodes + 1)
    half_height = 0.6 * half_width
    angles = {_INPUTS[0]: 165.0, _INPUTS[1]: 195.0, _OUTPUT: -8.0}
    for i in range(num_nodes):
        angles[str(i)] = 135.0 - 100.0 * i / max(1, num_nodes - 1)
    return {name: (half_width * (1 + np.cos(np.radians(a))), half_height * np.sin(np.radians(a)))
            for name, a in angles.items()}


def draw_cell(cell_genotype: CellGenotype, path: str, title: str = "",
              concat: Optional[Sequence[int]] = None) -> None:
    """Draws a cell as a left-to-right DAG and writes it to ``path`` (PNG), atomically.

    Args:
        cell_genotype: One list of ``{"op", "input", "prob"?}`` edges per node.
        path: Output ``.png`` path.
        title: Title above the picture.
        concat: Nodes concatenated into the cell output (default: all).
    """
    pos = _positions(len(cell_genotype))
    fig, ax = _figure(pos, title)
    patches = _draw_nodes(ax, pos)
    for node, edges in enumerate(cell_genotype):
        for edge in edges:
            # One colour per source state, so crossing edges stay tellable apart.
            color = _EDGE_COLORS[edge["input"] % len(_EDGE_COLORS)]
            _arrow(ax, pos, patches, _node_name(edge["input"]), str(node), _edge_label(edge),
                   color=color, linewidth=1.2)
    for node in _concat(cell_genotype, concat):
        _arrow(ax, pos, patches, str(node), _OUTPUT, linewidth=0.9, linestyle="--")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _figure(pos: dict, title: str):
    """A figure and borderless axes sized to the node positions ``pos``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xs, ys = zip(*pos.values())
    margin = _RADIUS + 0.3
    width, height = max(xs) - min(xs) + 2 * margin, max(ys) - min(ys) + 2 * margin
    scale = 1.15   # inches per data unit
    fig = Figure(figsize=(width * scale, height * scale + (0.5 if title else 0)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, height * scale / fig.get_figheight()))
    ax.set_xlim(min(xs) - margin, max(xs) + margin)
    ax.set_ylim(min(ys) - margin, max(ys) + margin)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=14, y=1 - 0.1 / fig.get_figheight())
    return fig, ax


def _draw_nodes(ax, pos: dict) -> dict:
    """Draws a labelled circle per node; returns node name -> circle."""
    from matplotlib.patches import Circle

    patches = {}
    for name, xy in pos.items():
        kind = "input" if name in _INPUTS else "output" if name == _OUTPUT else "node"
        patches[name] = Circle(xy, _RADIUS, facecolor=_COLORS[kind], edgecolor="#333333",
                               zorder=3)
        ax.add_patch(patches[name])
        label = f"${name}$" if name.startswith("c_") else name
        ax.text(*xy, label, ha="center", va="center", fontsize=11, zorder=4)
    return patches


def _arrow(ax, pos: dict, patches: dict, src: str, dst: str, label: str = "",
           color: str = "#888888", **style) -> None:
    """An arrow between two nodes, with an optional label along it."""
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(pos[src], pos[dst], patchA=patches[src], patchB=patches[dst],
                                 arrowstyle="-|>", color=color, mutation_scale=14, zorder=2,
                                 **style))
    if label:
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        t = _LABEL_AT
        ax.text(x1 + t * (x2 - x1), y1 + t * (y2 - y1), label, ha="center", va="center",
                fontsize=9, color=color, zorder=5,
                bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor=color,
                          linewidth=0.6))


def write_dot(cell_genotype: CellGenotype, path: str,
              concat: Optional[Sequence[int]] = None) -> None:
    """Writes the cell as a Graphviz ``.dot`` file (``dot -Tpng``), atomically.

    Args:
        cell_genotype: One list of ``{"op", "input", "prob"?}`` edges per node.
        path: Output ``.dot`` path.
        concat: Nodes concatenated into the cell output (default: all).
    """
    lines = ["digraph cell {", "  rankdir=LR;",
             '  node [style=filled, shape=rect, fontname="helvetica"];',
             '  edge [fontname="helvetica", fontsize=10];']
    for name in _INPUTS:
        lines.append(f'  "{name}" [fillcolor="{_COLORS["input"]}"];')
    for node in range(len(cell_genotype)):
        lines.append(f'  "{node}" [fillcolor="{_COLORS["node"]}", shape=circle];')
    lines.append(f'  "{_OUTPUT}" [fillcolor="{_COLORS["output"]}"];')
    for node, edges in enumerate(cell_genotype):
        for edge in edges:
            lines.append(f'  "{_node_name(edge["input"])}" -> "{node}" '
                         f'[label="{_edge_label(edge)}"];')
    for node in _concat(cell_genotype, concat):
        lines.append(f'  "{node}" -> "{_OUTPUT}" [style=dashed, color=gray];')
    lines.append("}")
    write_text_atomic(path, "\n".join(lines) + "\n")
