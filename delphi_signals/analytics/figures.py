"""One way to write the analytics' PNG figures: drawn on an Agg canvas (no display needed), written whole.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> path = save_png(Path(tempfile.mkdtemp()) / "line.png", lambda ax: ax.plot([0, 1], [1, 0]))
>>> path.read_bytes()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

from pathlib import Path

from .. import atomic


def new_figure(width: float, height: float):
    """A constrained-layout figure on its own Agg canvas (no pyplot state, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(path, figure) -> Path:
    """Write ``figure`` to ``path`` as a PNG (100 dpi), atomically; return the path."""
    path = Path(path)
    with atomic.writing(path, "wb", durable=False) as handle:
        figure.savefig(handle, format="png", dpi=100)
    return path


def save_png(path, draw, *, figsize=(9, 4.5)) -> Path:
    """Call ``draw(ax)`` on a new figure's axes and write it to ``path`` atomically; return the path."""
    figure = new_figure(*figsize)
    draw(figure.add_subplot())
    return save_figure(path, figure)
