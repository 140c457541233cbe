"""The Epidata API on MariaDB: a one-million-row county query through the official client vs the same rows
fetched straight from the database with the driver into a DataFrame; small queries per second under load.

Builds (once per run, in a throwaway MariaDB database) one county signal of 3,300 counties x 303 days (about
one million rows, one issue each) and one state signal, serves it with ``delphi-signals serve`` (one uvicorn
process) and times, interleaved over ``--rounds``:

* ours: ``delphi_epidata.Epidata.covidcast(...)`` for every county and day, then ``pandas.DataFrame`` of the rows;
* baseline: the same rows with PyMySQL through SQLAlchemy into a DataFrame (``pandas.read_sql``), the way a
  researcher with database access would read them.

Target: ours at most 2x the baseline (median over rounds); exits 1 when missed. Then one-state-one-day queries
per second with 1, 8 and 32 concurrent clients (threads with keep-alive connections), printed.

Usage: python benchmarks/bench_api.py [--server mysql+pymysql://root@127.0.0.1:3306] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from delphi_signals.epidata import store  # noqa: E402
from delphi_signals.epidata.schema import create_schema, engine_for  # noqa: E402
from delphi_signals.geo import geo_values  # noqa: E402
from delphi_signals.testing import databases  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import record, target_met  # noqa: E402

TARGET = 2.0
SOURCE, COUNTY_SIGNAL, STATE_SIGNAL = "bench-api", "county_signal", "state_signal"
DAYS = pd.date_range("2020-02-01", periods=303)


def rows_for(signal: str, geo_type: str, geos) -> pd.DataFrame:
    n_geo, n_day = len(geos), len(DAYS)
    time_values = np.tile(DAYS.strftime("%Y%m%d").astype(int).to_numpy(), n_geo)
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "source": SOURCE, "signal": signal, "time_type": "day", "geo_type": geo_type, "time_value": time_values,
        "geo_value": np.repeat(np.asarray(geos), n_day), "issue": time_values + 1, "lag": 1,
        "value": rng.gamma(2.0, 10.0, n_geo * n_day).round(4), "stderr": np.nan, "sample_size": np.nan,
        "missing_value": 0, "missing_stderr": 5, "missing_sample_size": 5})


def build(url: str, n_counties: int = 3300) -> int:
    engine = engine_for(url)
    create_schema(engine)
    counties = [g for g in geo_values("county") if not g.endswith("000")][:n_counties]
    total = 0
    for frame in (rows_for(COUNTY_SIGNAL, "county", counties), rows_for(STATE_SIGNAL, "state", geo_values("state"))):
        for start in range(0, len(frame), 250_000):
            with store.locked_transaction(engine) as conn:
                total += store.load_rows(conn, frame.iloc[start:start + 250_000])
    engine.dispose()
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "delphi_signals", "serve", "--db", url, "--port", str(port)],
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/epidata"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/covidcast_meta/", timeout=2).read()
            return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def memory_mb(pid: int, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def answer_bytes(base: str) -> int:
    """Size of the JSON body of the one-million-row answer, as it crosses the wire."""
    first, last = DAYS[0].strftime("%Y%m%d"), DAYS[-1].strftime("%Y%m%d")
    url = (f"{base}/covidcast/?data_source={SOURCE}&signals={COUNTY_SIGNAL}&time_type=day&geo_type=county"
           f"&time_values={first}-{last}&geo_value=*")
    with urllib.request.urlopen(url, timeout=600) as response:
        return len(response.read())


def ours(base: str) -> tuple[float, int]:
    from delphi_epidata import Epidata

    Epidata.BASE_URL = base
    started = time.perf_counter()
    answer = Epidata.covidcast(SOURCE, COUNTY_SIGNAL, "day", "county",
                               Epidata.range(int(DAYS[0].strftime("%Y%m%d")), int(DAYS[-1].strftime("%Y%m%d"))), "*")
    frame = pd.DataFrame(answer["epidata"])
    elapsed = time.perf_counter() - started
    assert answer["result"] == 1, answer.get("message")
    return elapsed, len(frame)


def baseline(url: str) -> tuple[float, int]:
    engine = engine_for(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(
            "SELECT g.geo_value, s.signal, s.source, g.geo_type, t.time_type, t.time_value, t.issue, t.lag, "
            "t.missing_value, t.missing_stderr, t.missing_sample_size, t.value, t.stderr, t.sample_size "
            "FROM epimetric_latest t JOIN geo_dim g ON g.geo_key_id = t.geo_key_id "
            "JOIN signal_dim s ON s.signal_key_id = t.signal_key_id "
            "WHERE s.source = :source AND s.signal = :signal AND t.time_type = 'day' AND g.geo_type = 'county' "
            "AND t.time_value BETWEEN :first AND :last"), conn,
            params={"source": SOURCE, "signal": COUNTY_SIGNAL, "first": int(DAYS[0].strftime("%Y%m%d")),
                    "last": int(DAYS[-1].strftime("%Y%m%d"))})
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, len(frame)


def small_queries(base: str, clients: int, seconds: float) -> float:
    """One state, one day, as many times as ``clients`` threads manage in ``seconds``; queries per second."""
    import http.client

    host, port = base.split("//")[1].split("/")[0].split(":")
    path = (f"/epidata/covidcast/?data_source={SOURCE}&signals={STATE_SIGNAL}&time_type=day&geo_type=state"
            f"&time_values=20200601&geo_value=ca")
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.perf_counter() < stop:
            conn.request("GET", path)
            body = conn.getresponse().read()
            assert json.loads(body)["result"] == 1
            counts[k] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--counties", type=int, default=3300, help="counties of the big signal (x 303 days)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per concurrency level of the small queries")
    args = parser.parse_args(argv)
    url, drop = databases.mariadb_database("bench_api")
    proc = None
    try:
        started = time.perf_counter()
        n = build(url, args.counties)
        print(f"built {n:,} rows in {time.perf_counter() - started:.1f} s")
        proc, base = serve(url)
        at_rest = memory_mb(proc.pid, "VmRSS")
        ratios, times_base, times_ours = [], [], []
        for r in range(args.rounds):
            t_base, n_base = baseline(url)
            t_ours, n_ours = ours(base)
            assert n_base == n_ours, (n_base, n_ours)
            ratios.append(t_ours / t_base)
            times_base.append(t_base)
            times_ours.append(t_ours)
            print(f"round {r + 1}: {n_ours:,} rows; client + DataFrame {t_ours:.2f} s, driver + DataFrame "
                  f"{t_base:.2f} s, ratio {t_ours / t_base:.2f}")
        ratio = statistics.median(ratios)
        met = target_met(ratio, TARGET, better="lower")
        print(f"one-million-row query: ours / driver = {ratio:.2f} (target <= {TARGET}): {'met' if met else 'MISSED'}")
        peak, size = memory_mb(proc.pid, "VmHWM"), answer_bytes(base) / 1e6
        print(f"server memory: {at_rest:.0f} MB at rest, peak {peak:.0f} MB over the rounds, for answers of "
              f"{size:.0f} MB of JSON each (streamed in batches)")
        record("api", "server peak memory growth while answering (MB)", ours=peak - at_rest, baseline=None,
               unit="MB", note=f"{size:.0f} MB JSON answer; {at_rest:.0f} MB at rest")
        record("api", f"{n_ours:,}-row county query to a DataFrame", ours=statistics.median(times_ours),
               baseline=statistics.median(times_base), unit="s", ratio=ratio, target=TARGET, better="lower",
               baseline_name="pymysql driver + DataFrame (ratio: ours / driver)")
        for clients in (1, 8, 32):
            rate = small_queries(base, clients, args.seconds)
            print(f"small queries, {clients:>2} concurrent clients: {rate:.0f}/s")
            record("api", f"one-state-one-day queries, {clients} concurrent clients", ours=rate, baseline=None,
                   unit="queries/s", note="one uvicorn worker")
        return 0 if met else 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        drop()


if __name__ == "__main__":
    sys.exit(main())
