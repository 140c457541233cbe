"""Metadata cache on MariaDB: incremental update after one day's import vs a full recompute, same run.

Builds ``epimetric_latest`` with at least 10 million synthetic rows over 52 (source, signal) pairs (3,300
counties x 61 days each; generated inside MariaDB from its ``seq_*`` tables, in primary-key order), computes
the cache in full, then per round: imports one new day of one pair through ``store.load_rows`` (which marks
the pair pending), times the incremental update, times a full recompute, and checks both caches are the
same text. Target: incremental at least 20x faster than full (median over rounds). Exits 1 when missed.

Usage: python benchmarks/bench_meta.py [--server mysql+pymysql://root@127.0.0.1:3306] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from delphi_signals.analytics.meta import update_meta  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import record, target_met  # noqa: E402
from delphi_signals.epidata import store  # noqa: E402
from delphi_signals.epidata.schema import create_schema, engine_for  # noqa: E402

TARGET = 20.0
PAIRS, GEOS, DAYS = 52, 3300, 61
FIRST_DAY = dt.date(2020, 6, 1)


def build(engine) -> int:
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO geo_dim (geo_type, geo_value) SELECT 'county', LPAD(seq, 5, '0') "
                             f"FROM seq_1_to_{GEOS} ORDER BY seq")
        conn.execute(sa.text("INSERT INTO signal_dim (source, `signal`) VALUES (:source, :signal)"),
                     [{"source": f"bench-{k // 4:02d}", "signal": f"signal_{k % 4}"} for k in range(PAIRS)])
        geo_ids = [r[0] for r in conn.exec_driver_sql("SELECT geo_key_id FROM geo_dim ORDER BY geo_key_id")]
        signal_ids = [r[0] for r in conn.exec_driver_sql("SELECT signal_key_id FROM signal_dim ORDER BY signal_key_id")]
    assert geo_ids == list(range(1, GEOS + 1)) and len(signal_ids) == PAIRS
    now = int(time.time())
    for n, sig in enumerate(signal_ids):
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO epimetric_latest (epimetric_id, signal_key_id, geo_key_id, issue, time_type, time_value,"
                " value, stderr, sample_size, lag, value_updated_timestamp, missing_value)"
                f" SELECT {n} * 1000000 + t.seq * 10000 + g.seq, {sig}, g.seq,"
                f" DATE_FORMAT(DATE_ADD('{FIRST_DAY}', INTERVAL t.seq + 1 + g.seq %% 3 DAY), '%%Y%%m%%d') + 0, 'day',"
                f" DATE_FORMAT(DATE_ADD('{FIRST_DAY}', INTERVAL t.seq DAY), '%%Y%%m%%d') + 0,"
                f" IF((g.seq + t.seq) %% 97 = 0, NULL, ((g.seq * 7 + t.seq * 13 + {sig}) %% 1000) / 10.0), NULL, NULL,"
                f" 1 + g.seq %% 3, {now}, IF((g.seq + t.seq) %% 97 = 0, 5, 0)"
                f" FROM seq_0_to_{DAYS - 1} t, seq_1_to_{GEOS} g ORDER BY t.seq, g.seq")
        print(f"\r  built pair {n + 1}/{PAIRS}", end="", file=sys.stderr, flush=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE id_sequence SET next_id = 1000000000 WHERE name = 'epimetric'")
        rows = conn.exec_driver_sql("SELECT COUNT(*) FROM epimetric_latest").scalar()
    print(f"\n  {rows:,} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return int(rows)


def one_day(day: dt.date, round_no: int) -> pd.DataFrame:
    geo = [f"{k:05d}" for k in range(1, GEOS + 1)]
    values = (np.arange(GEOS) * 3 + round_no) % 500 / 4.0
    issue = day + dt.timedelta(days=1)
    return pd.DataFrame({
        "source": "bench-05", "signal": "signal_2", "time_type": "day", "geo_type": "county",
        "time_value": int(day.strftime("%Y%m%d")), "geo_value": geo, "issue": int(issue.strftime("%Y%m%d")),
        "lag": 1, "value": values, "stderr": np.nan, "sample_size": np.nan, "missing_value": 0,
        "missing_stderr": 1, "missing_sample_size": 1})


def cache_text(engine) -> str:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT epidata FROM covidcast_meta_cache").scalar()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("DELPHI_SIGNALS_TEST_MYSQL",
                                                           "mysql+pymysql://root@127.0.0.1:3306"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    name = f"bench_meta_{os.getpid()}"
    server = sa.create_engine(args.server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    engine = engine_for(f"{args.server}/{name}")
    try:
        create_schema(engine)
        rows = build(engine)
        first = update_meta(engine, full=True)
        print(f"initial full recompute: {first.seconds:.2f} s, {first.row_count} cache rows", file=sys.stderr)
        fulls, incrementals = [], []
        for round_no in range(args.rounds):
            day = FIRST_DAY + dt.timedelta(days=DAYS + round_no)
            with store.locked_transaction(engine) as conn:
                store.load_rows(conn, one_day(day, round_no), marker=f"bench/{day:%Y%m%d}")
            inc = update_meta(engine)
            assert inc.mode == "incremental" and inc.pairs == [("bench-05", "signal_2")], inc
            text = cache_text(engine)
            full = update_meta(engine, full=True)
            assert cache_text(engine) == text, "incremental and full caches differ"
            incrementals.append(inc.seconds)
            fulls.append(full.seconds)
            print(f"round {round_no + 1}: incremental {inc.seconds:.3f} s, full {full.seconds:.2f} s, "
                  f"ratio {full.seconds / inc.seconds:.1f}x", file=sys.stderr)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT COUNT(*) FROM epimetric_latest").scalar()
            pairs = conn.exec_driver_sql("SELECT COUNT(DISTINCT signal_key_id) FROM epimetric_latest").scalar()
    finally:
        engine.dispose()
        if not args.keep:
            with server.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    inc_median, full_median = statistics.median(incrementals), statistics.median(fulls)
    ratio = full_median / inc_median
    ok = target_met(ratio, TARGET) and rows >= 10_000_000 and pairs >= 50
    record("meta", f"metadata cache after one new day ({rows:,} rows, {pairs} pairs)", ours=inc_median,
           baseline=full_median, unit="s", target=TARGET, baseline_name="full recompute (upstream's way)",
           note="incremental cache == full cache")
    print(f"bench_meta (MariaDB): {rows:,} rows in epimetric_latest over {pairs} (source, signal) pairs")
    print(f"  full recompute      median {full_median:8.3f} s  (rounds: {', '.join(f'{s:.2f}' for s in fulls)})")
    print(f"  incremental update  median {inc_median:8.3f} s  (rounds: {', '.join(f'{s:.3f}' for s in incrementals)})")
    print(f"  speed-up {ratio:.1f}x (target >= {TARGET:.0f}x): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
