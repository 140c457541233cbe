"""What this system already published, as the dynamic checks' reference (upstream asks the remote API).

Any object with the three methods of :class:`ReferenceData` serves: :class:`ArchiveReference` reads the
archive cache (a flat folder of published CSVs named as the export names them), :class:`DatabaseReference`
the epidata database as it stood before the issue being validated (what upstream's validator asks the API).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Protocol

import pandas as pd

from ..errors import InputError, NoRowsError
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


class DatabaseReference:
    """The epidata database as the reference: what ``source`` had published before the issue ``before``.

    ``combos`` and ``latest`` read the time values of the source's stored issues up to the day before
    ``before`` (every issue when ``before`` is None); ``rows`` is :meth:`Epidata.fetch` with ``as_of`` that
    day, so validating a past issue again compares it with what was known then, not with its own rows.

    Parameters
    ----------
    db : str, sqlalchemy.engine.Engine or Epidata
        The database.
    source : str
        The data source being validated.
    before : date-like, optional
        The issue date of the export being validated.

    Examples
    --------
    >>> from delphi_signals.epidata import Epidata, store
    >>> db = Epidata("sqlite://")
    >>> rows = pd.DataFrame({"source": "src", "signal": "sig", "geo_type": "state", "geo_value": ["ca", "ny"],
    ...                      "time_type": "day", "time_value": 20201129, "issue": 20201130, "lag": 1,
    ...                      "value": [1.0, 2.0], "stderr": None, "sample_size": None, "missing_value": 0,
    ...                      "missing_stderr": 1, "missing_sample_size": 1})
    >>> with store.locked_transaction(db.engine) as conn:
    ...     _ = store.load_rows(conn, rows)
    >>> ref = DatabaseReference(db, "src", before="2020-12-01")
    >>> ref.combos(dt.date(2020, 11, 1), dt.date(2020, 11, 30)), ref.latest(("state", "sig", "day"))
    ({('state', 'sig', 'day')}, datetime.date(2020, 11, 29))
    >>> DatabaseReference(db, "src", before="2020-11-30").combos(dt.date(2020, 11, 1), dt.date(2020, 11, 30))
    set()
    """

    def __init__(self, db, source: str, before=None):
        from ..epidata import Epidata

        self.db = db if isinstance(db, Epidata) else Epidata(db)
        self.source = source
        self.as_of = None if before is None else (pd.Timestamp(before) - pd.Timedelta(days=1)).date()
        self._times = self._published_times()

    def _published_times(self) -> dict[Combo, pd.DatetimeIndex]:
        import sqlalchemy as sa

        from ..epidata import schema
        from ..epidata.query import time_int
        from ..timeaxis import parse_time_values

        full, sig, geo = schema.epimetric_full, schema.signal_dim, schema.geo_dim
        times: dict[Combo, pd.DatetimeIndex] = {}
        with self.db.engine.connect() as conn:
            for time_type in ("day", "week"):
                query = (sa.select(sig.c.signal, geo.c.geo_type, full.c.time_value).distinct()
                         .select_from(full.join(sig, sig.c.signal_key_id == full.c.signal_key_id)
                                      .join(geo, geo.c.geo_key_id == full.c.geo_key_id))
                         .where(sig.c.source == self.source, full.c.time_type == time_type))
                if self.as_of is not None:
                    query = query.where(full.c.issue <= time_int(self.as_of, time_type))
                found = pd.DataFrame(conn.execute(query).all(), columns=["signal", "geo_type", "time_value"])
                for (signal, geo_type), part in found.groupby(["signal", "geo_type"]):
                    values = parse_time_values(part["time_value"].to_numpy(), time_type)
                    times[(geo_type, signal, time_type)] = values.sort_values()
        return times

    def combos(self, start: dt.date, end: dt.date) -> set[Combo]:
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        return {combo for combo, times in self._times.items() if ((times >= lo) & (times <= hi)).any()}

    def latest(self, combo: Combo) -> dt.date | None:
        times = self._times.get(combo)
        return times[-1].date() if times is not None and len(times) else None

    def rows(self, combo: Combo, start: dt.date, end: dt.date) -> pd.DataFrame:
        from ..cube import to_frame

        geo_type, signal, time_type = combo
        if not self.combos(start, end) & {combo}:
            return pd.DataFrame(columns=REFERENCE_COLUMNS)
        import sqlalchemy as sa

        try:
            cube = self.db.fetch(self.source, signal, geo_type, time_type=time_type, start=start, end=end,
                                 as_of=self.as_of)
        except NoRowsError:  # a window holding only deletions
            return pd.DataFrame(columns=REFERENCE_COLUMNS)
        except sa.exc.SQLAlchemyError as exc:  # the validator records it as api_data_fetch_error, as upstream
            raise InputError(f"the database reference could not be read: {exc}".splitlines()[0]) from None
        frame = to_frame(cube)
        return pd.DataFrame({"geo_id": frame["geo_value"], "time_value": frame["time_value"],
                             "val": frame["value"], "se": frame["stderr"], "sample_size": frame["sample_size"]})
