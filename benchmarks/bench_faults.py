"""The fault record's cost on a big fetch: ``Epidata.fetch(..., faults=True)`` vs the same fetch without faults.

Builds (once per run) one county signal of 3,300 counties x 303 days (about one million cells, one issue each)
in a SQLite file (or, with ``--server``, a throwaway MariaDB database), and 1,000 faults of mixed scope: a few
counties over a few weeks, every county over a few days, every signal of the source over tens of counties,
other geo levels, other signals and another source (which the fetch must pass over), open and resolved, with
issue ranges that cover some rows and not others. Then times, interleaved over ``--rounds``:

* ours: ``db.fetch(source, signal, "county", faults=True)`` (the cube with its ``fault_ids``);
* baseline: ``db.fetch(source, signal, "county")``.

Target: ours at most 1.2x the baseline, best of the rounds on each side (the rounds alternate the order, so a
change in the machine's load disturbs both sides alike); exits 1 when missed. It checks that
the faults cover some cells and leave others, and that ``fault_ids`` names only the faults that may cover
this signal.

Usage: python benchmarks/bench_faults.py [--server mysql+pymysql://root@127.0.0.1:3306] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from delphi_signals.epidata import Epidata, store  # noqa: E402
from delphi_signals.faults.record import add_fault, known_signals  # noqa: E402
from delphi_signals.geo import geo_values  # noqa: E402
from delphi_signals.testing import databases  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import record, target_met, timed  # noqa: E402

TARGET = 1.2
SOURCE, SIGNAL, OTHER_SIGNAL = "bench-faults", "county_signal", "other_signal"


def build(db: Epidata, counties: list[str], days: pd.DatetimeIndex) -> int:
    """The county signal (one issue per cell, the day after) and a small second signal of the same source."""
    n_geo, n_day = len(counties), len(days)
    time_values = np.tile(days.strftime("%Y%m%d").astype(int).to_numpy(), n_geo)
    issues = (days + pd.Timedelta(days=1)).strftime("%Y%m%d").astype(int).to_numpy()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "source": SOURCE, "signal": SIGNAL, "time_type": "day", "geo_type": "county", "time_value": time_values,
        "geo_value": np.repeat(np.asarray(counties), n_day), "issue": np.tile(issues, n_geo), "lag": 1,
        "value": rng.gamma(2.0, 10.0, n_geo * n_day).round(4), "stderr": np.nan, "sample_size": np.nan,
        "missing_value": 0, "missing_stderr": 5, "missing_sample_size": 5})
    other = frame.iloc[:n_day].assign(signal=OTHER_SIGNAL)
    total = 0
    for part in [other] + [frame.iloc[s:s + 250_000] for s in range(0, len(frame), 250_000)]:
        with store.locked_transaction(db.engine) as conn:
            total += store.load_rows(conn, part)
    return total


def add_faults(db: Epidata, counties: list[str], days: pd.DatetimeIndex, n: int, seed: int = 1) -> list[int]:
    """``n`` faults of mixed scope (see the module docstring); returns the ids that may cover the county signal."""
    rng = np.random.default_rng(seed)
    known = known_signals(db.engine)
    states = [s for s in geo_values("state")]
    relevant = []

    def day(k):
        return days[int(np.clip(k, 0, len(days) - 1))].strftime("%Y-%m-%d")

    for i in range(n):
        kind = rng.choice(["few", "all_counties", "all_signals", "state", "other_signal", "other_source"],
                          p=[0.4, 0.1, 0.15, 0.15, 0.1, 0.1])
        a = int(rng.integers(0, len(days)))
        span = {"few": 30, "all_counties": 7, "all_signals": 20}.get(kind, 30)
        scope = {"source": SOURCE, "start": day(a), "end": day(a + int(rng.integers(0, span))),
                 "issue_start": day(a - 3 + int(rng.integers(0, 10)))}
        if rng.random() < 0.3:
            scope["issue_end"] = day(a + 15)
        if kind == "few":
            scope.update(signals=[SIGNAL], geo_type="county",
                         geo_values=rng.choice(counties, int(rng.integers(1, 6)), replace=False).tolist())
        elif kind == "all_counties":
            scope.update(signals=[SIGNAL], geo_type="county")
        elif kind == "all_signals":
            scope.update(geo_type="county", geo_values=rng.choice(counties, int(rng.integers(10, 60)),
                                                                  replace=False).tolist())
        elif kind == "state":
            scope.update(signals=[SIGNAL], geo_type="state", geo_values=[str(rng.choice(states))])
        elif kind == "other_signal":
            scope.update(signals=[OTHER_SIGNAL])
        else:
            scope = {"source": "jhu-csse", "signals": ["confirmed_incidence_num"], "start": scope["start"],
                     "end": scope["end"]}
        fid = add_fault(db.engine, f"bench fault {i}", "other", [scope], known=known,
                        reported_date=day(a - 5), status="open")
        if rng.random() < 0.3:
            db.update_fault(fid, status="resolved", note="done", date=day(a + 20))
        if kind in ("few", "all_counties", "all_signals"):
            relevant.append(fid)
    return relevant


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--counties", type=int, default=3300, help="counties of the signal (x --days days)")
    parser.add_argument("--days", type=int, default=303)
    parser.add_argument("--faults", type=int, default=1000)
    parser.add_argument("--server", default=None, help="a MariaDB server URL (default: a SQLite file)")
    args = parser.parse_args(argv)
    if args.server:
        os.environ["DELPHI_SIGNALS_TEST_MYSQL"] = args.server
        databases.MYSQL_SERVER = args.server
        url, drop = databases.mariadb_database("bench_faults")
    else:
        folder = tempfile.mkdtemp(prefix="bench_faults_")
        url, drop = f"sqlite:///{folder}/epidata.sqlite", (lambda: shutil.rmtree(folder, ignore_errors=True))
    try:
        db = Epidata(url)
        counties = [g for g in geo_values("county") if not g.endswith("000")][:args.counties]
        days = pd.date_range("2020-02-01", periods=args.days)
        started = time.perf_counter()
        n = build(db, counties, days)
        relevant = set(add_faults(db, counties, days, args.faults))
        print(f"built {n:,} rows and {args.faults:,} faults ({len(relevant)} may cover the signal) in "
              f"{time.perf_counter() - started:.1f} s")
        db.fetch(SOURCE, SIGNAL, "county", faults=True)  # warm-up: imports, the database's page cache
        with_faults, without = [], []
        for r in range(args.rounds):  # ABBA: the order alternates, so a drift in the machine's load cancels
            order = (False, True) if r % 2 == 0 else (True, False)
            for faults in order:
                seconds, out = timed(db.fetch, SOURCE, SIGNAL, "county", faults=faults)
                (with_faults if faults else without).append(seconds)
                if faults:
                    cube = out
                else:
                    plain = out
            print(f"round {r + 1}: {plain['value'].size:,} cells; with faults {with_faults[-1]:.2f} s, without "
                  f"{without[-1]:.2f} s, ratio {with_faults[-1] / without[-1]:.2f}")
        ids = cube["fault_ids"].values.ravel()
        covered = ids != ""
        named = {int(i) for cell in pd.unique(ids[covered]) for i in cell.split(",")}
        assert 0 < covered.sum() < covered.size, "the faults should cover some cells and leave others"
        assert named <= relevant, "fault_ids names a fault that cannot cover this signal"
        assert np.array_equal(cube["value"].values, plain["value"].values, equal_nan=True)
        ratio = min(with_faults) / min(without)  # best of the rounds on each side: the least disturbed runs
        met = target_met(ratio, TARGET, better="lower")
        print(f"{covered.mean():.1%} of cells covered by {len(named)} faults; fetch with faults / without = "
              f"{ratio:.2f} (target <= {TARGET}): {'met' if met else 'MISSED'}")
        record("faults", f"fetch(faults=True), {plain['value'].size:,}-cell county query, {args.faults:,} faults",
               ours=min(with_faults), baseline=min(without), unit="s", ratio=ratio,
               target=TARGET, better="lower", baseline_name="the same fetch without faults (ratio: with / without)",
               note=f"{covered.mean():.1%} of cells covered; {'MariaDB' if args.server else 'SQLite'}")
        return 0 if met else 1
    finally:
        db.engine.dispose()
        drop()


if __name__ == "__main__":
    sys.exit(main())
