"""What this system already published, as the dynamic checks' reference (upstream asks the remote API).

Any object with the three methods of :class:`ReferenceData` serves; :class:`ArchiveReference` reads the
archive cache (a flat folder of published CSVs named as the export names them). A database reference can be
plugged in later by implementing the same three methods.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Protocol

import pandas as pd

from ..errors import InputError
from ..io import ExportFile, parse_filename
from .files import in_window, read_export_file, rows_frame

Combo = tuple[str, str, str]
"""``(geo_type, signal, time_type)``"""
REFERENCE_COLUMNS = ["geo_id", "time_value", "val", "se", "sample_size"]


class ReferenceData(Protocol):
    """The published data the dynamic checks compare an export with."""

    def combos(self, start: dt.date, end: dt.date) -> set[Combo]:
        """The (geo_type, signal, time_type) combinations published with a time value in ``[start, end]``."""

    def latest(self, combo: Combo) -> dt.date | None:
        """The newest time value (day, or epiweek start) published for ``combo``, or ``None``."""

    def rows(self, combo: Combo, start: dt.date, end: dt.date) -> pd.DataFrame:
        """The published rows of ``combo`` in ``[start, end]``: ``geo_id, time_value, val, se, sample_size``.

        Raises :class:`~delphi_signals.errors.InputError` when the reference cannot be read.
        """


class EmptyReference:
    """Nothing published yet (a source's first run)."""

    def combos(self, start, end) -> set[Combo]:
        return set()

    def latest(self, combo) -> None:
        return None

    def rows(self, combo, start, end) -> pd.DataFrame:
        return pd.DataFrame(columns=REFERENCE_COLUMNS)


class ArchiveReference:
    """The archive cache as a reference: a flat folder of published CSVs, named as exports.

    Names that break the export grammar are ignored; a file that breaks the CSV grammar is an
    :class:`InputError` when its rows are asked for.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "jhu-csse"
    >>> folder.mkdir()
    >>> _ = (folder / "20201130_state_confirmed_incidence_num.csv").write_text("geo_id,val,se,sample_size\\nca,5,NA,NA\\n")
    >>> ref = ArchiveReference(folder)
    >>> ref.combos(dt.date(2020, 11, 1), dt.date(2020, 11, 30))
    {('state', 'confirmed_incidence_num', 'day')}
    >>> ref.rows(("state", "confirmed_incidence_num", "day"), dt.date(2020, 11, 30), dt.date(2020, 11, 30)).val.tolist()
    [5.0]
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError("the reference folder does not exist", file=self.folder)
        self._files: dict[Combo, list[ExportFile]] = defaultdict(list)
        for path in sorted(self.folder.glob("*.csv")):
            try:
                meta = parse_filename(path)
            except InputError:
                continue
            self._files[(meta.geo_type, meta.signal, meta.time_type)].append(meta)

    def combos(self, start: dt.date, end: dt.date) -> set[Combo]:
        return {combo for combo, metas in self._files.items() if any(in_window(m, start, end) for m in metas)}

    def latest(self, combo: Combo) -> dt.date | None:
        metas = self._files.get(combo)
        return max(m.time.date() for m in metas) if metas else None

    def rows(self, combo: Combo, start: dt.date, end: dt.date) -> pd.DataFrame:
        metas = [m for m in self._files.get(combo, []) if start <= m.time.date() <= end]
        return rows_frame([read_export_file(m) for m in metas])[REFERENCE_COLUMNS]
