"""CSV export and read-back: ours vs the upstream way, side by side in one run.

Export: a county cube (3,300 geos x 365 days; value, stderr, sample_size) to daily files, against
per-date ``DataFrame.to_csv`` as upstream ``create_export_csv`` does. Target: >= 10x, byte-identical output.
Read-back: ``read_csvs`` over the same files against ``pd.read_csv`` per file. Target: >= 3x.

Run: ``python benchmarks/bench_csv.py [--geos 3300 --days 365 --repeat 3]``. Exit code 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

import delphi_signals as ds
from delphi_signals.testing import make_cube
from delphi_signals.testing.io_reference import pandas_read_csv, pandas_write_csvs

sys.path.insert(0, str(Path(__file__).parent))
from results import record, target_met, timed  # noqa: E402

EXPORT_TARGET, READ_TARGET = 10.0, 3.0


def export_cube(n_geo: int, days: int):
    """Rates with 5 % NaN, stderr with 10 % NaN, integral sample sizes with 10 % NaN (performance.md's cube)."""
    cube = make_cube(n_geo=n_geo, days=days, nan_fraction=0.05, seed=7)
    rng = np.random.default_rng(8)
    se = cube.stderr.values.copy()
    se[rng.random(se.shape) < 0.05] = np.nan
    n = np.round(cube.sample_size.values)
    n[rng.random(n.shape) < 0.05] = np.nan
    return ds.new_cube(cube.geo.values, cube.time.values, cube.value.values, se, n,
                       source="bench", signal="rate_prop", geo_type="county")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geos", type=int, default=3300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cube = export_cube(args.geos, args.days)
    work = Path(tempfile.mkdtemp(prefix="bench_csv_"))
    try:
        ours_dir, base_dir = work / "ours" / "bench", work / "baseline" / "bench"
        ds.write_csvs(cube.isel(time=slice(0, 2)), work / "warmup" / "bench")  # compile / load the numba cache
        ds.read_csvs(work / "warmup" / "bench")
        export_ours, export_base, read_ours, read_base = [], [], [], []
        for _ in range(args.repeat):  # interleaved, so both sides see the same machine load
            shutil.rmtree(work / "baseline", ignore_errors=True)
            t, base_paths = timed(pandas_write_csvs, cube, base_dir)
            export_base.append(t)
            shutil.rmtree(work / "ours", ignore_errors=True)
            t, our_paths = timed(ds.write_csvs, cube, ours_dir)
            export_ours.append(t)
            t, _ = timed(lambda: [pandas_read_csv(p) for p in base_paths])
            read_base.append(t)
            t, back = timed(ds.read_csvs, ours_dir)
            read_ours.append(t)
        identical = [p.name for p in our_paths] == [p.name for p in base_paths] and all(
            filecmp.cmp(p, base_dir / p.name, shallow=False) for p in our_paths)
        size_mb = sum(p.stat().st_size for p in our_paths) / 1e6
        export_ratio = statistics.median(export_base) / statistics.median(export_ours)
        read_ratio = statistics.median(read_base) / statistics.median(read_ours)
        values_back = np.allclose(back.value.values, cube.value.round(7).values, equal_nan=True, rtol=0, atol=0)
        print(f"cube {args.geos} geos x {args.days} days -> {len(our_paths)} files, {size_mb:.1f} MB; "
              f"median of {args.repeat} interleaved runs")
        print(f"export  baseline (pandas to_csv per date) {statistics.median(export_base):8.3f} s   "
              f"ours {statistics.median(export_ours):8.3f} s   ratio {export_ratio:6.1f}x  (target >= {EXPORT_TARGET:.0f}x)"
              f"   byte-identical: {identical}")
        print(f"read    baseline (pd.read_csv per file)   {statistics.median(read_base):8.3f} s   "
              f"ours {statistics.median(read_ours):8.3f} s   ratio {read_ratio:6.1f}x  (target >= {READ_TARGET:.0f}x)"
              f"   values exact: {values_back}")
        size = f"{args.geos} x {args.days}"
        record("csv", f"export, county cube {size}", ours=statistics.median(export_ours),
               baseline=statistics.median(export_base), unit="s", target=EXPORT_TARGET,
               baseline_name="pandas to_csv per date", note=f"byte-identical: {identical}")
        record("csv", f"read back, {len(our_paths)} files", ours=statistics.median(read_ours),
               baseline=statistics.median(read_base), unit="s", target=READ_TARGET,
               baseline_name="pd.read_csv per file", note=f"values exact: {values_back}")
        ok = identical and values_back and target_met(export_ratio, EXPORT_TARGET) and target_met(read_ratio, READ_TARGET)
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
