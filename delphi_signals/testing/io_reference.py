"""Reference implementations of the CSV stage, written the way upstream does it (pandas, per file).

They drive both the tests (our output must equal theirs) and ``benchmarks/bench_csv.py`` (ours must be faster).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..cube import to_frame
from ..io.filenames import format_filename

_RENAME = {"geo_value": "geo_id", "value": "val", "stderr": "se", "missing_value": "missing_val",
           "missing_stderr": "missing_se"}


def pandas_write_csvs(cube, export_dir, missing_columns: bool = True) -> list[Path]:
    """Upstream ``create_export_csv``: per date, round val/se to 7 decimals and ``DataFrame.to_csv(na_rep="NA")``."""
    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    df = to_frame(cube).rename(columns=_RENAME)
    columns = ["geo_id", "val", "se", "sample_size"]
    if missing_columns:
        columns += ["missing_val", "missing_se", "missing_sample_size"]
    paths = []
    for time, day in df.groupby("time_value", sort=True):
        day = day.sort_values("geo_id")[columns].round({"val": 7, "se": 7})
        path = export_dir / format_filename(time, cube.attrs["geo_type"], cube.attrs["signal"], cube.attrs["time_type"])
        day.to_csv(path, index=False, na_rep="NA")
        paths.append(path)
    return paths


def pandas_read_csv(path) -> pd.DataFrame:
    """One file the way upstream's importer reads it: ``pd.read_csv`` with the column dtypes."""
    return pd.read_csv(path, dtype={"geo_id": str, "val": float, "se": float, "sample_size": float,
                                    "missing_val": "Int64", "missing_se": "Int64", "missing_sample_size": "Int64"},
                       na_values=["NA"], keep_default_na=True)
