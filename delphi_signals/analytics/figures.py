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


def save_png(path, draw, *, figsize=(9, 4.5)) -> Path:
    """Call ``draw(ax)`` on a new figure's axes and write it to ``path`` atomically; return the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    draw(figure.add_subplot())
    with atomic.writing(path, "wb", durable=False) as handle:
        figure.savefig(handle, format="png", dpi=100)
    return path
