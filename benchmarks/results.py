"""Timing and recording for the benchmarks: :func:`timed` one call; :func:`record` one measured figure.

Each benchmark calls :func:`record` where it prints a ratio.

A benchmark run on its own prints as before and records nothing. Under ``run_all.py`` the environment variable
``DELPHI_SIGNALS_BENCH_RESULTS`` names a JSON-lines file; every :func:`record` appends one object to it, which
``run_all.py`` turns into the table of ``benchmarks/RESULTS.md``.

>>> import os, tempfile, json
>>> path = os.path.join(tempfile.mkdtemp(), "r.jsonl")
>>> os.environ[RESULTS_ENV] = path
>>> row = record("diff", "full JHU day", ours=0.5, baseline=20.0, unit="s", target=4)
>>> row["ratio"], row["met"]
(40.0, True)
>>> json.loads(open(path).read())["figure"]
'full JHU day'
>>> del os.environ[RESULTS_ENV]
"""

from __future__ import annotations

import gc
import json
import math
import os
import time

RESULTS_ENV = "DELPHI_SIGNALS_BENCH_RESULTS"
QUICK_ENV = "DELPHI_SIGNALS_BENCH_QUICK"
"""Set (to 1) by ``run_all.py --quick``: small sizes, so no speed target is judged and a benchmark's exit
status says only whether its results were right."""


def targets_judged() -> bool:
    """False in a smoke run (``$DELPHI_SIGNALS_BENCH_QUICK`` set): its sizes say nothing about speed."""
    return not os.environ.get(QUICK_ENV)


def target_met(ratio: float, target: float, better: str = "higher") -> bool:
    """Whether ``ratio`` meets ``target`` (``better="lower"``: at most it); always True when targets are not
    judged (:func:`targets_judged`), so a smoke run's exit status does not depend on the machine's speed.

    >>> target_met(2.7, 3.0), target_met(2.0, 3.0, better="lower")
    (False, True)
    """
    if not targets_judged():
        return True
    if not math.isfinite(ratio):
        return False
    return ratio >= target if better == "higher" else ratio <= target

#: how the ratio is formed from the two measurements, by what the unit measures
LOWER_IS_BETTER = {"s", "ms"}


def timed(fn, *args, **kwargs):
    """``(seconds, result)`` of one call, after a garbage collection so that none falls inside it."""
    gc.collect()
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - started, out


def record(benchmark: str, figure: str, *, ours: float, baseline: float | None, unit: str,
           target: float | None = None, ratio: float | None = None, better: str = "higher",
           baseline_name: str = "", note: str = "") -> dict:
    """Record one measured figure; return it (also written to ``$DELPHI_SIGNALS_BENCH_RESULTS`` when set).

    Parameters
    ----------
    benchmark, figure : str
        Which script, and which of its figures ("moving average vs numbagg").
    ours, baseline : float
        The two measurements in ``unit`` (seconds, rows/s, queries/s ...); ``baseline`` None for a figure
        with no baseline (printed for information).
    unit : str
        For times (``s``, ``ms``) the ratio is baseline / ours, for rates ours / baseline, so that a ratio
        above 1 means ours is faster; pass ``ratio`` to give it directly.
    target : float, optional
        The issue's target for the ratio; ``better="lower"`` when the target is an upper limit (ours at most
        2x the driver's time: ``ratio=ours/baseline, target=2, better="lower"``).
    baseline_name, note : str
        What the baseline is ("delphi-utils 0.3.24"), and a check that goes with the figure ("same rows").
    """
    if ratio is None and baseline is not None:
        ratio = baseline / ours if unit in LOWER_IS_BETTER else ours / baseline
    met = None
    if not targets_judged():
        target = None
    if target is not None and ratio is not None and math.isfinite(ratio):
        met = ratio >= target if better == "higher" else ratio <= target
    elif target is not None:
        met = False
    row = {"benchmark": benchmark, "figure": figure, "ours": ours, "baseline": baseline, "unit": unit,
           "baseline_name": baseline_name, "note": note, "ratio": ratio, "target": target, "better": better, "met": met}
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")
    return row
