"""What an indicator run wrote, and upstream's closing log line."""

from __future__ import annotations

import time
from pathlib import Path

from ..io.filenames import parse_filename
from ..log import get_logger


class RunReport:
    """Collects the CSVs an indicator run writes; :meth:`finish` logs ``"Completed indicator run"``.

    The closing line carries upstream's fields: ``elapsed_time_in_seconds``, ``csv_export_count`` and
    ``oldest_final_export_date``, the oldest among the signals' newest exported time values (``YYYYMMDD``, or
    ``YYYYWW`` for weekly signals): how far behind the most lagging signal is.

    Examples
    --------
    >>> report = RunReport("demo")
    >>> report.add([Path("demo/20200301_state_a.csv"), Path("demo/20200302_state_a.csv")])
    >>> report.add([Path("demo/20200301_state_b.csv")])
    >>> report.oldest_final_export_date()
    20200301
    """

    def __init__(self, source: str, params: dict | None = None):
        log_filename = ((params or {}).get("common") or {}).get("log_filename")
        self.log = get_logger("delphi_signals.indicators", filename=log_filename, source=source)
        self.started = time.perf_counter()
        self.written: list[Path] = []
        self._newest: dict[tuple, int] = {}
        self._oldest: dict[tuple, int] = {}

    def add(self, paths: list[Path]) -> None:
        """Record one signal's written files (in time order, as ``write_csvs`` returns them)."""
        self.written.extend(paths)
        if paths:
            last = parse_filename(paths[-1])
            key = (last.signal, last.geo_type)
            self._newest[key] = max(self._newest.get(key, 0), last.time_value)
            first = parse_filename(paths[0]).time_value
            self._oldest[key] = min(self._oldest.get(key, first), first)

    def oldest_final_export_date(self) -> int | None:
        return min(self._newest.values()) if self._newest else None

    def summary(self, export_dir) -> dict:
        """What a person wants to know of the run: files, signals, levels, dates, time and where.

        Examples
        --------
        >>> report = RunReport("demo")
        >>> report.add([Path("d/20200301_state_a.csv"), Path("d/20200302_state_a.csv")])
        >>> s = report.summary("d")
        >>> s["csv_export_count"], s["signals"], s["geo_types"], s["first_time_value"], s["last_time_value"]
        (2, 1, ['state'], 20200301, 20200302)
        """
        return {
            "csv_export_count": len(self.written),
            "signals": len({signal for signal, _ in self._newest}),
            "geo_types": sorted({geo for _, geo in self._newest}),
            "first_time_value": min(self._oldest.values()) if self._oldest else None,
            "last_time_value": max(self._newest.values()) if self._newest else None,
            "oldest_final_export_date": self.oldest_final_export_date(),
            "elapsed_time_in_seconds": round(time.perf_counter() - self.started, 2),
            "export_dir": str(export_dir),
        }

    def finish(self, export_dir, **extra) -> list[Path]:
        """Log the closing line (:meth:`summary` plus the indicator's own ``extra`` fields); return the paths."""
        self.log.info("Completed indicator run", **self.summary(export_dir), **extra)
        return self.written
