"""The coverage and latency figures as small multiples: one panel per source, its signals and levels inside.

Each figure is sized from what it shows (panels, series, bars), so labels never have to squeeze: a coverage
panel grows with its legend (outside the axes, on the right), a latency panel with its bars (a fixed height
per bar label). Dates are labelled concisely (``matplotlib.dates.ConciseDateFormatter``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .figures import new_figure

WIDTH = 11.0  # inches
BAR_HEIGHT = 0.24  # inches per latency bar: room for one line of 9-pt label
LEGEND_ROW = 0.2  # inches per legend entry
PANEL_MIN = 2.0  # inches, the smallest coverage panel


def _day(time_value: int, time_type: str) -> dt.date:
    if time_type == "day":
        return dt.date(time_value // 10000, time_value // 100 % 100, time_value % 100)
    from ..timeaxis import parse_weeks

    return (parse_weeks([time_value])[0] + pd.Timedelta(days=6)).date()


def _label(signal: str, geo_type: str) -> str:
    return f"{signal} · {geo_type}"


def _empty(figure, message: str):
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    return figure


def coverage_figure(report: dict):
    """Fraction of the expected regions with a value, over the window: one panel per source, one line per
    signal and geo type, the legend beside each panel.

    Examples
    --------
    >>> fig = coverage_figure({"run_date": "2020-11-30", "days": 2, "coverage": [
    ...     {"source": "s", "signal": "x", "time_type": "day", "geo_type": "state", "time_value": t, "fraction": f}
    ...     for t, f in [(20201129, 0.5), (20201130, 1.0)]]})
    >>> [ax.get_title(loc="left") for ax in fig.axes], len(fig.axes[0].get_lines())
    (['s'], 1)
    """
    import matplotlib
    import matplotlib.dates as mdates

    title = f"Coverage, last {report['days']} days to {report['run_date']}"
    frame = pd.DataFrame(report.get("coverage") or [])
    if not frame.empty:
        frame = frame.dropna(subset=["fraction"])
    if frame.empty:
        return _empty(new_figure(WIDTH, 2.5), f"{title}: no coverage to show")
    sources = sorted(frame["source"].unique())
    series = {s: list(frame[frame["source"] == s].groupby(["signal", "geo_type"], sort=True).groups)
              for s in sources}
    heights = [max(PANEL_MIN, LEGEND_ROW * len(series[s]) + 0.9) for s in sources]
    figure = new_figure(WIDTH, sum(heights) + 0.6)
    axes = figure.subplots(len(sources), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, source in zip(axes, sources):
        mine = frame[frame["source"] == source]
        if len(series[source]) > 10:  # more series than the default cycle has colours: 20 distinct ones
            ax.set_prop_cycle(color=matplotlib.colormaps["tab20"].colors)
        for (signal, geo_type), part in mine.groupby(["signal", "geo_type"], sort=True):
            days = [_day(int(t), tt) for t, tt in zip(part["time_value"], part["time_type"])]
            ax.plot(days, part["fraction"], marker=".", markersize=3, linewidth=1, label=_label(signal, geo_type))
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("fraction of\nexpected regions")
        ax.set_title(source, loc="left", fontweight="bold")
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize="small", frameon=False)
    figure.suptitle(title)
    return figure


def latency_figure(report: dict):
    """Days from each signal's newest time value to the run date: one panel per source, one bar per signal
    and geo type, its value written at the bar's end.

    Examples
    --------
    >>> fig = latency_figure({"run_date": "2020-11-30", "latency": [
    ...     {"source": "s", "signal": "x", "geo_type": g, "latency_days": d} for g, d in [("state", 1), ("nation", 2)]]})
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]  # bottom to top: alphabetical from the top
    ['x · state', 'x · nation']
    """
    from matplotlib.ticker import MaxNLocator

    title = f"Latency on {report['run_date']}"
    frame = pd.DataFrame(report.get("latency") or [])
    if frame.empty:
        return _empty(new_figure(WIDTH, 2.5), f"{title}: no signal in the database")
    sources = sorted(frame["source"].unique())
    counts = [int((frame["source"] == s).sum()) for s in sources]
    heights = [BAR_HEIGHT * n + 0.7 for n in counts]
    figure = new_figure(WIDTH * 0.8, sum(heights) + 0.8)
    axes = figure.subplots(len(sources), 1, squeeze=False, sharex=True,
                           gridspec_kw={"height_ratios": heights})[:, 0]
    longest = float(frame["latency_days"].max())
    for ax, source in zip(axes, sources):
        mine = frame[frame["source"] == source].sort_values(["signal", "geo_type"], ascending=False)
        labels = [_label(s, g) for s, g in zip(mine["signal"], mine["geo_type"])]
        bars = ax.barh(labels, mine["latency_days"], height=0.7)
        ax.bar_label(bars, padding=2, fontsize="small")
        ax.set_title(source, loc="left", fontweight="bold")
        ax.tick_params(axis="y", labelsize="small")
        ax.set_ylim(-0.6, len(labels) - 0.4)
    axes[0].set_xlim(0, longest * 1.12 + 1)
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))  # whole days
    axes[-1].set_xlabel("days since the newest time value")
    figure.suptitle(title)
    return figure
