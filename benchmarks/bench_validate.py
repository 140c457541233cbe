"""The validator's static checks on a real JHU export, ours against delphi-utils 0.3.24's ``StaticValidator``.

Input: our JHU run on the real files (``$DELPHI_SIGNALS_REALDATA/jhu_csse``), exporting 2020-11-17 .. 2020-11-30:
14 days × 12 signals × 6 geo levels = 1,008 files (county files hold ~3,270 rows). Both sides check the same
folder with the same params (14-day window ending 2020-11-30, JHU's settings: se and sample size may be
missing): reading every file, then every per-file check. The dynamic checks are left out: upstream's need the
remote COVIDcast API.

* Ours: ``delphi_signals.validate.check_static`` (files read by the numba CSV parser, checks on arrays).
* Upstream: ``load_all_files`` + ``StaticValidator.validate`` in the oracle virtualenv (``benchmarks/oracle.py``),
  timed inside the oracle process (imports excluded).

Runs interleave (ours, upstream, ours, …, ours: ``--repeats`` upstream runs, default 1, as one takes minutes);
each side's median is reported. Gate: the same failures (check name, date, geo type, signal) on both sides,
except upstream's ``check_missing_date_files``, which measures lags from the clock rather than the issue date,
and ``check_bad_geo_id_value`` failures for ids our geography tables hold but upstream's GeoMapper does not
(printed); and ours ≥ 5× faster (our target).

    python benchmarks/bench_validate.py [--repeats 1] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
TARGET = 5.0
ISSUE = dt.date(2020, 12, 1)
STATIC = {"missing_se_allowed": True, "missing_sample_size_allowed": True, "minimum_sample_size": 100}
VALIDATION = {"common": {"end_date": "2020-11-30", "span_length": 14}, "static": STATIC}

ORACLE_SCRIPT = r"""
import re
import time
from datetime import date
from delphi_utils.validator.datafetcher import load_all_files
from delphi_utils.validator.report import ValidationReport
from delphi_utils.validator.static import StaticValidator
params = ARGS["validation"]
validator = StaticValidator(params)
start = time.perf_counter()
frames = load_all_files(ARGS["export_dir"], validator.params.time_window.start_date,
                        validator.params.time_window.end_date)
report = ValidationReport([])
validator.validate(frames, report)
elapsed = time.perf_counter() - start
def key(f):
    return [f.check_name, None if f.date is None else f.date.isoformat(), f.geo_type, f.signal]
unknown_ids = sorted({(f.geo_type, geo) for f in report.raised_errors if f.check_name == "check_bad_geo_id_value"
                      for geo in re.findall(r"'([^']*)'", f.message)})
print(json.dumps({"seconds": elapsed, "files": len(frames), "unknown_ids": unknown_ids,
                  "errors": [key(f) for f in report.raised_errors],
                  "warnings": [key(f) for f in report.raised_warnings]}))
"""


def build_export(workdir: Path) -> Path:
    from delphi_signals.indicators.jhu.run import run_module
    from delphi_signals.testing import realdata_dir

    realdata = realdata_dir() or REPO.parent / "shared" / "realdata"
    export = workdir / "jhu-csse"
    if not export.exists():
        run_module({"common": {"export_dir": str(export), "input_dir": str(workdir / "input"),
                               "issue_date": ISSUE.isoformat()},
                    "indicator": {"base_url": str(Path(realdata) / "jhu_csse" / "time_series_covid19_{metric}_US.csv"),
                                  "export_start_date": "2020-11-17", "export_end_date": "2020-11-30"}})
    return export


def ours(export: Path):
    from delphi_signals.validate import ValidationReport, check_static, read_params

    params = read_params(VALIDATION, ISSUE)
    report = ValidationReport("jhu-csse", ISSUE, params.start_date, params.end_date)
    start = time.perf_counter()
    check_static(export, params, report)
    return time.perf_counter() - start, report


def keys(failures):
    return sorted((f.check_name, None if f.date is None else f.date.isoformat(), f.geo_type, f.signal)
                  for f in failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="upstream runs (ours run one more time)")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    logging.getLogger("delphi_signals").setLevel(logging.WARNING)
    from oracle import run_oracle
    from results import record, target_met

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_validate_"))
    try:
        export = build_export(workdir)
        n_files = len(list(export.glob("*.csv")))
        ours(export)  # warm-up: imports, numba cache, geography tables
        our_times, their_times = [], []
        oracle = None
        for _ in range(args.repeats):
            our_times.append(ours(export)[0])
            oracle = run_oracle(ORACLE_SCRIPT, {"export_dir": str(export), "validation": VALIDATION})
            their_times.append(oracle["seconds"])
        seconds, report = ours(export)
        our_times.append(seconds)
        mine, theirs = statistics.median(our_times), statistics.median(their_times)
        ratio = theirs / mine
        print(f"files: {n_files} (ours checked {report.files_checked}, upstream loaded {oracle['files']})")
        print(f"ours:     {mine:8.3f} s  (runs: {', '.join(f'{t:.3f}' for t in our_times)})")
        print(f"upstream: {theirs:8.3f} s  (runs: {', '.join(f'{t:.3f}' for t in their_times)})")
        print(f"ratio:    {ratio:8.1f}x  (target ≥ {TARGET:.0f}x)")
        from delphi_signals.geo import LEVELS, geo_values

        ours_only_tables = [(geo_type, geo) for geo_type, geo in oracle["unknown_ids"]
                            if geo_type in LEVELS and geo.lower() in set(geo_values(geo_type))]
        print(f"ids upstream's GeoMapper lacks and our tables hold: {len(ours_only_tables)} "
              f"({', '.join(f'{t}:{g}' for t, g in ours_only_tables[:12])}{' …' if len(ours_only_tables) > 12 else ''})")
        unexplained = sorted(set(map(tuple, oracle["unknown_ids"])) - set(ours_only_tables))
        # upstream's extra bad-id failures are explained by the tables; ours must be a subset of upstream's
        our_bad = {k for k in keys(report.errors) if k[0] == "check_bad_geo_id_value"}
        their_bad = {tuple(k) for k in oracle["errors"] if k[0] == "check_bad_geo_id_value"}
        geo_ok = not unexplained and our_bad <= their_bad
        print(f"check_bad_geo_id_value: ours {len(our_bad)}, upstream {len(their_bad)}; unexplained ids: "
              f"{unexplained[:10]}")
        skip = {"check_missing_date_files", "check_bad_geo_id_value"}
        our_errors = [k for k in keys(report.errors) if k[0] not in skip]
        their_errors = sorted(tuple(k) for k in oracle["errors"] if k[0] not in skip)
        our_warnings, their_warnings = keys(report.warnings), sorted(tuple(k) for k in oracle["warnings"])
        same = our_errors == their_errors and our_warnings == their_warnings and geo_ok
        print(f"failures: ours {len(our_errors)} errors / {len(our_warnings)} warnings, upstream "
              f"{len(their_errors)} / {len(their_warnings)}: {'the same' if same else 'DIFFERENT'}")
        if not same:
            for label, a, b in (("errors", our_errors, their_errors), ("warnings", our_warnings, their_warnings)):
                print(f"  {label} only ours: {sorted(set(a) - set(b))[:10]}")
                print(f"  {label} only upstream: {sorted(set(b) - set(a))[:10]}")
        record("validate", f"static checks, {n_files:,} real JHU files", ours=mine, baseline=theirs, unit="s",
               target=TARGET, baseline_name="delphi-utils 0.3.24 StaticValidator",
               note=f"same failures as upstream: {same}")
        return 0 if same and target_met(ratio, TARGET) else 1
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    sys.exit(main())
