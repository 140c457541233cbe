"""The nightly figures read at a glance: rendered, every text inside the canvas, no two tick or bar labels on top
of each other, legends beside the axes, not over them — measured with matplotlib's bounding boxes on a report
the size of the demo run's (every registered source's representative signals at each of its levels)."""

import datetime as dt
import itertools

import matplotlib.text
import pytest

from delphi_signals.analytics.coverage import representative_signals
from delphi_signals.analytics.coverage_plots import coverage_figure, latency_figure
from delphi_signals.analytics.figures import new_figure
from delphi_signals.indicators.registry import get_indicator

RUN = dt.date(2020, 11, 30)
DAYS = 56


@pytest.fixture(scope="module")
def report():
    """Coverage and latency records for every representative signal of every registered source and level."""
    coverage, latency = [], []
    days = [RUN - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    for source, signals in representative_signals().items():
        indicator = get_indicator(source)
        for signal in signals:
            for geo_type in indicator.signals[signal].geo_types:
                for i, day in enumerate(days):
                    coverage.append({"source": source, "signal": signal, "time_type": "day", "geo_type": geo_type,
                                     "time_value": int(day.strftime("%Y%m%d")), "fraction": min(1.0, i / 40)})
                latency.append({"source": source, "signal": signal, "geo_type": geo_type, "latency_days": 3})
    return {"run_date": RUN.isoformat(), "days": DAYS, "coverage": coverage, "latency": latency}


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0) * max(height, 0)


def readability_problems(figure) -> list[str]:
    """What a person could not read: texts cut by the canvas, overlapping tick or bar labels, legends on axes."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    canvas = figure.bbox
    problems = []
    hidden = set()  # tick labels of ticks beyond the axis limits: kept by matplotlib, never drawn
    for ax in figure.axes:
        for labels, (low, high), index in ((ax.get_xticklabels(), sorted(ax.get_xlim()), 0),
                                            (ax.get_yticklabels(), sorted(ax.get_ylim()), 1)):
            hidden |= {id(t) for t in labels if not low - 1e-9 <= t.get_position()[index] <= high + 1e-9}
    texts = [t for t in figure.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    for text in texts:
        box = text.get_window_extent(renderer)
        if box.x0 < canvas.x0 - 1 or box.y0 < canvas.y0 - 1 or box.x1 > canvas.x1 + 1 or box.y1 > canvas.y1 + 1:
            problems.append(f"outside the canvas: {text.get_text()!r}")
    for ax in figure.axes:
        groups = {"x tick": ax.get_xticklabels(), "y tick": ax.get_yticklabels(), "bar": ax.texts}
        for kind, labels in groups.items():
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels
                     if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
            for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
                if _overlap(box_a, box_b) > 1.0:
                    problems.append(f"{kind} labels overlap: {a!r} and {b!r}")
        legend = ax.get_legend()
        if legend is not None:
            box = legend.get_window_extent(renderer)
            for other in figure.axes:
                if _overlap(box, other.get_window_extent(renderer)) > 1.0:
                    problems.append(f"legend of {ax.get_title(loc='left')!r} lies on an axes")
    return problems


def test_the_checker_sees_what_the_old_figures_did_wrong():
    """A legend laid over the plot and 36 bar labels in a height that fits 15: both found."""
    figure = new_figure(9, 4.5)
    ax = figure.add_subplot()
    ax.barh([f"source:signal_{i} (county)" for i in range(36)], range(36))
    ax.plot([0, 10], [0, 30], label="a series")
    ax.legend(loc="center")
    problems = readability_problems(figure)
    assert any("y tick labels overlap" in p for p in problems)
    assert any(p.startswith("legend of") for p in problems)


def test_coverage_png_is_small_multiples_with_legends_beside_the_panels(report):
    figure = coverage_figure(report)
    sources = sorted({r["source"] for r in report["coverage"]})
    assert [ax.get_title(loc="left") for ax in figure.axes] == sources  # one panel per source
    series = {s: len({(r["signal"], r["geo_type"]) for r in report["coverage"] if r["source"] == s}) for s in sources}
    assert [len(ax.get_lines()) for ax in figure.axes] == [series[s] for s in sources]
    assert sum(series.values()) >= 30
    assert readability_problems(figure) == []
    assert figure.get_figheight() >= 0.2 * sum(series.values())  # sized from its content


def test_latency_png_gives_each_bar_label_its_room(report):
    figure = latency_figure(report)
    bars = sum(len(ax.patches) for ax in figure.axes)
    assert bars == len(report["latency"]) >= 30 and len(figure.axes) == len({r["source"] for r in report["latency"]})
    assert readability_problems(figure) == []
    assert figure.get_figheight() >= 0.24 * bars
