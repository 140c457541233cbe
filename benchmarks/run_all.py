"""Run every benchmark and write one table of what they measured to ``benchmarks/RESULTS.md``.

Each benchmark runs in its own process, one after the other, as it would on its own; every figure it records
(:func:`results.record`) becomes a row: figure, ours, baseline, ratio, target, met, and the ratio of the
previous ``RESULTS.md`` beside it, so a performance regression shows in the file's diff and in the ``Δ``
column (``▼`` when a ratio lost more than a fifth). The benchmarks stay out of CI: a full run takes about half an
hour on two cores (the oracle virtualenv is built on first use, the real-data exports once under
``~/.cache/delphi-signals``).

Usage::

    python benchmarks/run_all.py                      # every benchmark, writes benchmarks/RESULTS.md
    python benchmarks/run_all.py --only geo diff      # some of them (RESULTS.md keeps the other rows)
    python benchmarks/run_all.py --quick --output /tmp/quick.md   # small sizes, no targets: a smoke run

Exit code 0 when every benchmark exited 0 and every target was met, 1 when one was missed or a benchmark
failed (the table is written either way), 2 on bad usage. Each benchmark's own output goes to
``<log-dir>/<name>.log``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import QUICK_ENV, RESULTS_ENV  # noqa: E402

DEFAULT_OUTPUT = HERE / "RESULTS.md"
REGRESSION = 0.8
"""A ratio below this fraction of the previous one (above its inverse, for upper limits) is flagged."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    quick: tuple[str, ...] | None
    """Arguments of the smoke run (``--quick``); None: too large to shrink, skipped there."""


BENCHMARKS = (
    Benchmark("csv", "bench_csv.py", ("--geos", "300", "--days", "30", "--repeat", "1")),
    Benchmark("geo", "bench_geo.py", ("--days", "60", "--repeat", "3", "--no-real")),
    Benchmark("smooth", "bench_smooth.py", ("--repeats", "1", "--skip-oracle")),
    Benchmark("weekday", "bench_weekday.py", None),
    Benchmark("indicator", "bench_indicator.py", ("--rows", "150", "--repeats", "1")),
    Benchmark("diff", "bench_diff.py", None),
    Benchmark("validate", "bench_validate.py", None),
    Benchmark("import", "bench_import.py", ("--counties", "60", "--signals", "1", "--days", "5", "--issues", "2",
                                             "--baseline-rows", "300", "--asof-counties", "10", "--asof-days", "30",
                                             "--asof-issues", "3", "--repeat", "1")),
    Benchmark("meta", "bench_meta.py", None),
    Benchmark("api", "bench_api.py", ("--counties", "100", "--rounds", "1", "--seconds", "1")),
    Benchmark("claims", "bench_claims.py", ("--counties", "40")),
    Benchmark("faults", "bench_faults.py", ("--counties", "200", "--days", "60", "--faults", "200", "--rounds", "1")),
    Benchmark("quidel", "bench_quidel.py", ("--days", "4", "--tests-per-day", "2000", "--zips", "500",
                                             "--repeats", "1")),
)
BY_NAME = {b.name: b for b in BENCHMARKS}
COLUMNS = ("benchmark", "figure", "ours", "baseline", "ratio", "target", "met", "previous", "Δ", "baseline is",
           "check")


def format_value(value: float | None, unit: str) -> str:
    """``0.0123, "s"`` → ``'0.0123 s'``; rates with thousands separators.

    >>> format_value(22400.4, "rows/s"), format_value(0.012345, "s"), format_value(None, "s")
    ('22,400 rows/s', '0.0123 s', '')
    """
    if value is None:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def format_ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.3g}×"


def format_target(row: dict) -> str:
    if row["target"] is None:
        return ""
    return f"{'≥' if row['better'] == 'higher' else '≤'} {row['target']:g}×"


def regressed(row: dict, previous: float | None) -> bool:
    """True when the ratio lost more than a fifth against ``previous`` (in the direction that is worse)."""
    if previous is None or row["ratio"] is None:
        return False
    if row["better"] == "higher":
        return row["ratio"] < REGRESSION * previous
    return row["ratio"] > previous / REGRESSION


def parse_previous(text: str) -> dict[tuple[str, str], float]:
    """Ratios of an earlier ``RESULTS.md``, by (benchmark, figure)."""
    ratios = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(COLUMNS) or cells[0] in ("benchmark", "") or set(cells[0]) <= {"-"}:
            continue
        match = re.fullmatch(r"([0-9.e+-]+)×", cells[COLUMNS.index("ratio")])
        if match:
            ratios[(cells[0], cells[1])] = float(match.group(1))
    return ratios


def parse_rows(text: str) -> list[list[str]]:
    """The results table's rows (cells as text) of a ``RESULTS.md``."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == len(COLUMNS) and cells[0] != "benchmark" \
                and not set(cells[0]) <= {"-"}:
            rows.append(cells)
    return rows


RUN_COLUMNS = ("benchmark", "commit", "command", "seconds", "exit", "figures")


def parse_runs(text: str) -> dict[str, list[str]]:
    """The rows (cells as text) of the runs table of a ``RESULTS.md``, by benchmark."""
    runs, inside = {}, False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line.strip() == "## Runs"
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if inside and line.startswith("|") and len(cells) == len(RUN_COLUMNS) and cells[0] != "benchmark" \
                and not set(cells[0]) <= {"-"}:
            runs[cells[0]] = cells
    return runs


def render_row(row: dict, previous: dict) -> list[str]:
    before = previous.get((row["benchmark"], row["figure"]))
    delta = ""
    if before is not None and row["ratio"] is not None:
        delta = ("▼ " if regressed(row, before) else "") + f"{row['ratio'] / before:.2f}"
    met = {True: "yes", False: "**MISSED**", None: ""}[row["met"]]
    return [row["benchmark"], row["figure"], format_value(row["ours"], row["unit"]),
            format_value(row["baseline"], row["unit"]), format_ratio(row["ratio"]), format_target(row), met,
            format_ratio(before), delta, row.get("baseline_name", ""), row.get("note", "")]


def render(rows: list[dict], runs: list[dict], previous_text: str, header: dict) -> str:
    """The whole ``RESULTS.md``: the rows measured now and the earlier rows of benchmarks not run now, in the
    order of :data:`BENCHMARKS`."""
    previous = parse_previous(previous_text)
    ran = {run["benchmark"] for run in runs}
    lines = ["# Benchmark results", "",
             f"Written by `python benchmarks/run_all.py{header['argv']}` on {header['when']}, started at commit "
             f"{header['commit']}; {header['machine']}; load average {header['load_start']:.1f} at the start, "
             f"{header['load_end']:.1f} at the end. Each benchmark's own commit is in the runs table.", "",
             "Every ratio compares ours with a baseline measured in the same run, in the same process or its "
             "own virtualenv (`oracle.py`). For times the ratio is baseline / ours and for rates ours / baseline, "
             "so above 1 means ours is faster; where the target is an upper limit (`≤`) the ratio is ours / "
             "baseline. `previous` is the ratio in the file this run replaced, `Δ` the new ratio over it "
             f"(`▼`: lost more than {1 - REGRESSION:.0%}).", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    table: dict[str, list[list[str]]] = {}  # benchmark -> rows as cells, new or kept
    for row in rows:
        table.setdefault(row["benchmark"], []).append(render_row(row, previous))
    kept = [cells for cells in parse_rows(previous_text) if cells[0] not in ran]
    for cells in kept:
        table.setdefault(cells[0], []).append(cells)
    run_cells = {r["benchmark"]: [r["benchmark"], r["commit"], f"`{r['command']}`", f"{r['seconds']:.0f}",
                                  str(r["exit"]), str(r["figures"])] for r in runs}
    for name, cells in parse_runs(previous_text).items():
        if name not in ran and name in table:
            run_cells[name] = cells
    order = [b.name for b in BENCHMARKS] + sorted((set(table) | set(run_cells)) - set(BY_NAME))
    lines += ["| " + " | ".join(cells) + " |" for name in order for cells in table.get(name, [])]
    lines += ["", "## Runs", "", "| " + " | ".join(RUN_COLUMNS) + " |", "|" + "---|" * len(RUN_COLUMNS)]
    lines += ["| " + " | ".join(run_cells[name]) + " |" for name in order if name in run_cells]
    if kept:
        lines += ["", "Rows of benchmarks not run this time are kept from the previous file as they were."]
    return "\n".join(lines) + "\n"


def run_one(bench: Benchmark, quick: bool, log_dir: Path, timeout: float) -> tuple[dict, list[dict]]:
    """Run one benchmark in its own process; its recorded figures and a summary of the run."""
    args = list(bench.quick) if quick else []
    command = [sys.executable, str(HERE / bench.script), *args]
    results_file = log_dir / f"{bench.name}.jsonl"
    results_file.unlink(missing_ok=True)
    log = log_dir / f"{bench.name}.log"
    env = {**os.environ, RESULTS_ENV: str(results_file)}
    if quick:  # small sizes say nothing about speed: the benchmark judges only its results
        env[QUICK_ENV] = "1"
    else:
        env.pop(QUICK_ENV, None)
    commit = current_commit()
    started = time.perf_counter()
    with open(log, "w") as out:
        try:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in results_file.read_text().splitlines()] if results_file.exists() else []
    if quick:  # small sizes say nothing about the targets
        for row in rows:
            row["target"], row["met"] = None, None
    shown = " ".join(["python", f"benchmarks/{bench.script}", *args])
    run = {"benchmark": bench.name, "commit": commit, "command": shown, "seconds": seconds, "exit": code,
           "figures": len(rows), "log": str(log)}
    return run, rows


def current_commit() -> str:
    """The checkout's short commit, marked ``+`` when tracked files have uncommitted changes."""
    try:
        commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+" if dirty else "")


def header_facts(argv: list[str], load_start: float, commit: str) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"argv": "".join(f" {a}" for a in argv), "commit": commit,
            "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}",
            "load_start": load_start, "load_end": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BY_NAME), help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and no targets (a smoke run); skips benchmarks that cannot shrink")
    parser.add_argument("--output", type=Path, help=f"the table (default {DEFAULT_OUTPUT.relative_to(HERE.parent)};"
                                                    " with --quick: printed only)")
    parser.add_argument("--log-dir", type=Path, help="each benchmark's output (default: a new temporary folder)")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per benchmark")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="delphi-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    chosen = [BY_NAME[name] for name in args.only] if args.only else list(BENCHMARKS)
    if args.quick:
        chosen = [b for b in chosen if b.quick is not None]
    load_start, commit = os.getloadavg()[0], current_commit()
    runs, rows = [], []
    for bench in chosen:
        print(f"[{bench.name}] running (log: {log_dir / bench.name}.log) ...", flush=True)
        run, found = run_one(bench, args.quick, log_dir, args.timeout)
        runs.append(run)
        rows += found
        print(f"[{bench.name}] exit {run['exit']} in {run['seconds']:.0f} s, {len(found)} figure(s)", flush=True)
    previous_text = output.read_text() if output is not None and output.exists() else ""
    text = render(rows, runs, previous_text, header_facts(argv, load_start, commit))
    if output is not None:
        output.write_text(text)
        print(f"wrote {output}")
    else:
        print(text)
    missed = [r["figure"] for r in rows if r["met"] is False]
    # in a smoke run the benchmarks judge no speed target ($DELPHI_SIGNALS_BENCH_QUICK): any non-zero exit is
    # a wrong result or a crash
    failed = [r["benchmark"] for r in runs if r["exit"] != 0]
    for name in failed:
        print(f"benchmark {name} failed (exit {next(r['exit'] for r in runs if r['benchmark'] == name)}); see "
              f"{log_dir / name}.log", file=sys.stderr)
    for figure in missed:
        print(f"target missed: {figure}", file=sys.stderr)
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())
