"""Smoothing: ours against numbagg (the library floor) and against the upstream way, side by side.

Data: a 3,300 × 1,100 cube of Poisson counts with 5 % NaN, built before any timing. Ours runs on one
thread (``numba.set_num_threads(1)``). The upstream way is delphi-utils 0.3.24's ``Smoother`` applied per
region through ``groupby(...).transform`` on a long frame, in its own virtualenv (``oracle.py``, one BLAS
thread); for each case the oracle runs, then ours, so both share the same window of machine load.
left_gauss_linear upstream is O(n²) per region (about 2 minutes on the whole cube), so it is timed on a
subset of regions and scaled to the full cube; the printout says so.

Cases and targets come from ``delphi_signals.testing.smooth_reference.CASES`` (the table the tests use).
Exit status 1 if any target is missed.

    python benchmarks/bench_smooth.py [--repeats 3] [--lgl-regions 66] [--skip-oracle]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record, target_met  # noqa: E402

N_GEO, N_DAYS, NAN_FRACTION = 3_300, 1_100, 0.05
FLOOR_LIMIT = 2.0
"""Our moving average may take at most this multiple of numbagg.move_mean's time."""

ORACLE_SCRIPT = r"""
import time, warnings, gc
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
from delphi_utils import Smoother
x = np.load(ARGS["x"])[: ARGS["rows"]]
frame = pd.DataFrame({
    "geo_id": np.repeat(np.arange(x.shape[0]), x.shape[1]),
    "timestamp": np.tile(pd.date_range("2020-03-01", periods=x.shape[1]).to_numpy(), x.shape[0]),
    "val": x.ravel(),
})
smoother = Smoother(**ARGS["kwargs"])
times = []
for _ in range(ARGS["repeats"]):
    gc.collect()
    start = time.perf_counter()
    out = frame.groupby("geo_id")["val"].transform(smoother.smooth)
    times.append(time.perf_counter() - start)
np.save(ARGS["out"], out.to_numpy().reshape(x.shape))
print(json.dumps({"times": times}))
"""

FIRST_CALL_SCRIPT = r"""
import json, time
start = time.perf_counter()
import numpy as np, pandas, xarray, numba
base = time.perf_counter()
from delphi_signals.smooth import smooth
from delphi_signals.testing import make_cube
imported = time.perf_counter()
cube = make_cube(n_geo=3, days=40)
built = time.perf_counter()
for method in ("moving_average", "savgol", "left_gauss_linear"):
    smooth(cube, method, impute="savgol")
done = time.perf_counter()
print(json.dumps({"base": base - start, "import": imported - base, "first_calls": done - built}))
"""


def synthetic_cube():
    from delphi_signals.cube import new_cube
    from delphi_signals.testing import county_ids

    rng = np.random.default_rng(2020)
    scale = rng.gamma(1.0, 40.0, size=(N_GEO, 1)) * np.exp(np.sin(np.arange(N_DAYS) / 90.0))
    counts = rng.poisson(scale).astype(float)
    counts[rng.random(counts.shape) < NAN_FRACTION] = np.nan
    import pandas as pd

    return new_cube(county_ids(N_GEO, seed=1), pd.date_range("2020-03-01", periods=N_DAYS), counts,
                    source="bench", signal="cases_incidence_num", geo_type="county")


def median_time(func, repeats, warmup=1):
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), func()


def max_relative(ours, ref):
    both = ~np.isnan(ours) & ~np.isnan(ref)
    same_nan = bool(np.array_equal(np.isnan(ours), np.isnan(ref)))
    scale = np.maximum(np.abs(ref[both]), 1.0)
    return same_nan, float(np.max(np.abs(ours[both] - ref[both]) / scale)) if both.any() else 0.0


def first_call_cost():
    """Import and first-call seconds in fresh processes: a cold numba cache, then the warm one."""
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("cold cache", "warm cache"):
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            proc = subprocess.run([sys.executable, "-c", FIRST_CALL_SCRIPT], capture_output=True, text=True,
                                  env=env, check=True)
            results[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    env_default = subprocess.run([sys.executable, "-c", FIRST_CALL_SCRIPT], capture_output=True, text=True,
                                 check=True)
    results["project cache"] = json.loads(env_default.stdout.strip().splitlines()[-1])
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (median)")
    parser.add_argument("--lgl-regions", type=int, default=66, help="regions the upstream left_gauss_linear is timed on")
    parser.add_argument("--skip-oracle", action="store_true", help="only the library floor and first-call cost")
    args = parser.parse_args(argv)

    import numba
    import numbagg

    from delphi_signals.smooth import smooth, smooth_array
    from delphi_signals.testing.smooth_reference import CASES

    numba.set_num_threads(1)
    cube = synthetic_cube()
    values = cube["value"].values
    failures = []
    print(f"cube {N_GEO} x {N_DAYS}, {np.isnan(values).mean():.1%} NaN, ours on 1 thread, cube already built")

    # library floor: the same trailing mean, no imputation, in the same process
    ours_t, ours_out = median_time(lambda: smooth_array(values, "moving_average", 7), max(args.repeats, 5))
    lib_t, lib_out = median_time(lambda: numbagg.move_mean(values, window=7, min_count=7), max(args.repeats, 5))
    same_nan, rel = max_relative(ours_out, lib_out)
    ratio = ours_t / lib_t
    print(f"moving_average vs numbagg.move_mean: ours {ours_t * 1e3:.1f} ms, numbagg {lib_t * 1e3:.1f} ms, "
          f"ours/numbagg {ratio:.2f} (limit {FLOOR_LIMIT}); same NaN {same_nan}, max rel diff {rel:.1e}")
    record("smooth", f"moving average, {N_GEO} x {N_DAYS}, 1 thread", ours=ours_t * 1e3, baseline=lib_t * 1e3,
           unit="ms", ratio=ratio, target=FLOOR_LIMIT, better="lower",
           baseline_name="numbagg.move_mean (ratio: ours / numbagg)", note=f"same NaN {same_nan}, max rel {rel:.0e}")
    if ratio > FLOOR_LIMIT or not same_nan:
        failures.append("moving_average vs numbagg")

    if not args.skip_oracle:
        from oracle import run_oracle

        with tempfile.TemporaryDirectory() as tmp:
            np.save(f"{tmp}/x.npy", values)
            for name, case in CASES.items():
                if case.target is None:
                    continue
                rows = args.lgl_regions if name == "left_gauss_linear" else N_GEO
                result = run_oracle(ORACLE_SCRIPT, {"x": f"{tmp}/x.npy", "rows": rows, "kwargs": case.upstream,
                                                    "repeats": args.repeats, "out": f"{tmp}/{name}.npy"})
                oracle_t = float(np.median(result["times"])) * N_GEO / rows
                api_t, api_out = median_time(lambda: smooth(cube, **case.ours), args.repeats)
                kernel_t, kernel_out = median_time(lambda: smooth_array(values, **case.ours), args.repeats)
                same_nan, rel = max_relative(kernel_out[:rows], np.load(f"{tmp}/{name}.npy"))
                np.testing.assert_array_equal(api_out["value"].values, kernel_out)
                scaled = f" (timed on {rows} regions, scaled x{N_GEO / rows:.0f})" if rows < N_GEO else ""
                ratio = oracle_t / api_t
                print(f"{name}: upstream {oracle_t:.2f} s{scaled}; ours smooth(cube) {api_t * 1e3:.1f} ms "
                      f"(value+stderr+sample_size+codes), value only {kernel_t * 1e3:.1f} ms; "
                      f"speed-up {ratio:,.0f}x cube API, {oracle_t / kernel_t:,.0f}x value only "
                      f"(target {case.target:,}x); same NaN {same_nan}, max rel diff {rel:.1e}")
                record("smooth", f"{name}, {N_GEO} x {N_DAYS}, cube API", ours=api_t, baseline=oracle_t, unit="s",
                       target=case.target, baseline_name="delphi-utils 0.3.24 Smoother" + scaled,
                       note=f"same NaN {same_nan}, max rel {rel:.0e}")
                if not target_met(ratio, case.target) or not same_nan or rel > 1e-9:
                    failures.append(name)

    costs = first_call_cost()
    for label, cost in costs.items():
        print(f"fresh process, {label}: numpy+pandas+xarray+numba {cost['base']:.2f} s, then "
              f"import delphi_signals.smooth (package + kernels) {cost['import']:.2f} s, first calls of 3 smoothers "
              f"{cost['first_calls']:.2f} s")
    if failures:
        print("MISSED:", ", ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
