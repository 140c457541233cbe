"""The archive differ: only the rows that changed since the last published issue go out.

The **cache** is a flat folder holding the full export of the last issue that was delivered; today's **export**
is a flat folder of dense CSVs. :meth:`ArchiveDiffer.diff` writes, under each export file's own name, the file's
new, changed and deleted rows (upstream's semantics, spec indicators.md §5, made complete: files that vanish
inside today's export window are deleted row by row); :meth:`ArchiveDiffer.commit` makes the cache equal to
today's export once the diff is delivered, and records the issue.

Comparison rules: ``val`` and ``se`` rounded to 7 decimals, ``sample_size`` exact, NA equal to NA, missing codes
compared too (a column that is absent reads as "no code", so a file that gains the ``missing_*`` columns changes
every row). Diff files always carry the seven columns, rows sorted by ``geo_id``; a deleted row is
``geo,NA,NA,NA,4,4,4`` (``Nans.DELETED``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..log import get_logger, progress
from .csv_reader import parse_joined
from .. import atomic
from .diffkernels import ROW_CAPACITY, merge_pairs, render_pairs, unsorted_files
from .filenames import parse_filename
from .parsing import decode_geo_keys

DIFF_COLUMNS = ("geo_id", "val", "se", "sample_size", "missing_val", "missing_se", "missing_sample_size")
DIFF_HEADER = (",".join(DIFF_COLUMNS) + "\n").encode()
CACHE_MANIFEST = ".delphi_signals_cache.json"
"""The cache's record of its issue and of each file's size and sha256 (hidden: never taken for an export)."""
EXPORT_MANIFEST = "_SUCCESS"
BACKENDS = ("filesystem", "git")
_CHUNK_BYTES = 64 << 20  # files parsed per numba pass: bounds the memory of a diff

log = get_logger(__name__)


def _csv_sizes(folder: Path) -> dict[str, int]:
    """``{name: size}`` of the visible ``*.csv`` files of ``folder`` (none if it does not exist)."""
    if not folder.is_dir():
        return {}
    with os.scandir(folder) as entries:
        return {e.name: e.stat().st_size for e in entries
                if e.name.endswith(".csv") and not e.name.startswith(".") and e.is_file()}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _yyyymmdd(day) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def file_days(name: str) -> tuple[int, int]:
    """First and last day (``YYYYMMDD``) an export file covers: its day, or its epiweek Sunday..Saturday.

    Examples
    --------
    >>> file_days("20200815_state_confirmed_incidence_num.csv")
    (20200815, 20200815)
    >>> file_days("weekly_202025_nation_deaths_covid_incidence_num.csv")
    (20200614, 20200620)
    """
    meta = parse_filename(Path("x") / name)
    last = meta.time + pd.Timedelta(days=6 if meta.time_type == "week" else 0)
    return _yyyymmdd(meta.time), _yyyymmdd(last)


def export_window(names, start=None, end=None) -> tuple[int, int] | None:
    """The export window as ``(first, last)`` days ``YYYYMMDD``: ``start``/``end`` where given, else the span of
    the days the files ``names`` cover; ``None`` if neither says.

    Examples
    --------
    >>> export_window(["20200816_state_a.csv", "20200820_state_a.csv"])
    (20200816, 20200820)
    >>> export_window(["20200816_state_a.csv"], start="2020-08-01")
    (20200801, 20200816)
    """
    spans = [file_days(n) for n in names]
    start = None if start == "latest" else start  # "latest" (the indicators' last day only): the files say
    first = _yyyymmdd(pd.Timestamp(start)) if start else min((a for a, _ in spans), default=None)
    last = _yyyymmdd(pd.Timestamp(end)) if end else max((b for _, b in spans), default=None)
    return None if first is None or last is None else (first, last)


def _python_rows(old_keys, new_keys, new_q, new_c, rows) -> bytes:
    """The rows :func:`render_pairs` leaves to Python's ``repr`` (huge or non-integral numbers)."""
    out = []
    for row in rows.tolist():
        if row < 0:
            out.append(f"{decode_geo_keys(old_keys[-row - 1:-row])[0]},NA,NA,NA,4,4,4\n")
            continue
        q, c = new_q[row], new_c[row]
        numbers = ["NA" if x != x else repr(float(np.round(x, 7) if i < 2 else x)) for i, x in enumerate(q.tolist())]
        codes = ["NA" if x == -1 else str(x) for x in c.tolist()]
        out.append(",".join([decode_geo_keys(new_keys[row:row + 1])[0], *numbers, *codes]) + "\n")
    return "".join(out).encode()


class _Parsed:
    """The rows of some files (``None`` entries parse as empty files), sorted by geo within each file."""

    def __init__(self, paths: list[Path | None]):
        real = [p for p in paths if p is not None]
        if real:
            self.keys, self.q, self.c, first, n = parse_joined(real)
        else:
            self.keys, self.q, self.c = np.zeros(0, np.uint64), np.zeros((0, 3)), np.zeros((0, 3), np.int8)
            first, n = np.zeros(0, np.int64), np.zeros(0, np.int64)
        self.first, self.n = np.zeros(len(paths), np.int64), np.zeros(len(paths), np.int64)
        where = [i for i, p in enumerate(paths) if p is not None]
        self.first[where], self.n[where] = first, n
        for f in np.flatnonzero(unsorted_files(self.keys, self.first, self.n)):
            self._sort(f, paths[f])

    def _sort(self, f: int, path: Path) -> None:
        rows = slice(self.first[f], self.first[f] + self.n[f])
        order = np.argsort(self.keys[rows], kind="stable")
        for array in (self.keys, self.q, self.c):
            array[rows] = array[rows][order]
        keys = self.keys[rows]
        repeated = keys[1:][keys[1:] == keys[:-1]]
        if len(repeated):
            raise InputError(f"geo_id repeated: {', '.join(decode_geo_keys(np.unique(repeated))[:5])}",
                             file=path, field="geo_id")


class ArchiveDiffer:
    """Diff today's export against the cache of what was published; commit once delivered.

    Parameters
    ----------
    cache_dir : path
        The cache: the full export of the last delivered issue (created by the first :meth:`commit`).
    export_dir : path
        Today's export. Its ``_SUCCESS`` manifest (JSON), when present, gives ``issue_date`` and the export
        window ``first_time_value``/``last_time_value`` (``YYYYMMDD``).
    backend : {"filesystem", "git"}
        ``"git"`` keeps every committed issue as a git commit of ``cache_dir``, which is its own repository
        (initialised by the first :meth:`commit`; never a folder inside another repository); :meth:`history`
        lists them.
    issue_date : date-like, optional
        Today's issue, recorded in the cache by :meth:`commit`; default the manifest's ``issue_date``.
    emit_vanished : bool
        Write files that vanished inside today's export window as all-DELETED rows (upstream ignores them).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> for folder, rows in [("cache", "a,1.0,NA,NA\\nb,2.0,NA,NA\\n"), ("export", "a,1.00000001,NA,NA\\nc,3.0,NA,NA\\n")]:
    ...     _ = (root / folder).mkdir(), (root / folder / "20200801_state_x.csv").write_text("geo_id,val,se,sample_size\\n" + rows)
    >>> differ = ArchiveDiffer(root / "cache", root / "export")
    >>> differ.diff(root / "out")["changed"]
    ['20200801_state_x.csv']
    >>> print((root / "out" / "20200801_state_x.csv").read_text(), end="")
    geo_id,val,se,sample_size,missing_val,missing_se,missing_sample_size
    b,NA,NA,NA,4,4,4
    c,3.0,NA,NA,NA,NA,NA
    """

    def __init__(self, cache_dir, export_dir, backend: str = "filesystem", *, issue_date=None,
                 emit_vanished: bool = True):
        if backend not in BACKENDS:
            raise InputError(f"unknown archive backend {backend!r}; known: {', '.join(BACKENDS)} (no S3 backend yet)")
        self.cache_dir, self.export_dir, self.backend = Path(cache_dir), Path(export_dir), backend
        self.emit_vanished = emit_vanished
        self._export_manifest = self._read_json(self.export_dir / EXPORT_MANIFEST)
        issue = issue_date or (self._export_manifest or {}).get("issue_date")
        self.issue_date = pd.Timestamp(issue).date() if issue else None

    # -- manifests ---------------------------------------------------------------------------------------------

    @staticmethod
    def _read_json(path: Path):
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", file=path, line=exc.lineno) from None

    def _cache_manifest(self) -> dict:
        return self._read_json(self.cache_dir / CACHE_MANIFEST) or {}

    def cache_issue(self) -> dt.date | None:
        """The issue the cache holds (the last committed one), or ``None`` for a new or foreign cache."""
        issue = self._cache_manifest().get("issue")
        return dt.date.fromisoformat(issue) if issue else None

    def window(self, export_names) -> tuple[int, int] | None:
        """Today's export window ``(first, last)`` (``YYYYMMDD``): the manifest's, else the files' span.

        ``None`` (an empty export without a manifest) deletes no vanished file.
        """
        manifest = self._export_manifest or {}
        if manifest.get("first_time_value") and manifest.get("last_time_value"):
            return int(manifest["first_time_value"]), int(manifest["last_time_value"])
        return export_window(export_names)

    # -- diff --------------------------------------------------------------------------------------------------

    def _identical(self, name: str, size: int, cache_sizes: dict, hashes: dict) -> bool:
        """Whether today's file has the cached bytes: by size, then by the cache's recorded hash (or bytes)."""
        if cache_sizes[name] != size:
            return False
        data = (self.export_dir / name).read_bytes()
        recorded = hashes.get(name)
        if recorded is not None and recorded[0] == size:
            return _digest(data) == recorded[1]
        return data == (self.cache_dir / name).read_bytes()

    def diff(self, out_dir) -> dict:
        """Write today's diff files into ``out_dir`` (created; must hold no CSV yet); the cache is not touched.

        Returns
        -------
        dict
            ``new``, ``changed``, ``unchanged``, ``vanished`` (written as deletions) and ``outside_window``
            (vanished, but outside today's window: not exported today, nothing written): sorted file-name lists;
            ``rows``: the number of rows written.

        Raises
        ------
        InputError
            The export folder is missing; the cache already holds this issue or a later one; ``out_dir`` holds
            CSV files; a git cache has uncommitted changes; a file is malformed.
        """
        if not self.export_dir.is_dir():
            raise InputError("no export folder to diff", file=self.export_dir)
        cached = self.cache_issue()
        if cached is not None and self.issue_date is not None and cached >= self.issue_date:
            raise InputError(f"the cache already holds issue {cached}, not before {self.issue_date}: "
                             "it never runs ahead of what was published", file=self.cache_dir)
        if self.backend == "git":
            self._git_check_clean()
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        if _csv_sizes(out_dir):
            raise InputError("the diff folder already holds CSV files", file=out_dir)
        export_sizes, cache_sizes = _csv_sizes(self.export_dir), _csv_sizes(self.cache_dir)
        hashes = self._cache_manifest().get("files", {})
        window = self.window(export_sizes)
        summary = {"new": sorted(set(export_sizes) - set(cache_sizes)), "changed": [], "unchanged": [],
                   "vanished": [], "outside_window": [], "rows": 0}
        for name in sorted(set(cache_sizes) - set(export_sizes)):
            first, last = file_days(name)
            inside = window is not None and first <= window[1] and last >= window[0]
            summary["vanished" if inside and self.emit_vanished else "outside_window"].append(name)
        pairs = []  # (name, cached file or None, today's file or None)
        for name in sorted(set(cache_sizes) & set(export_sizes)):
            if self._identical(name, export_sizes[name], cache_sizes, hashes):
                summary["unchanged"].append(name)
            else:
                pairs.append((name, self.cache_dir / name, self.export_dir / name))
        pairs += [(n, None, self.export_dir / n) for n in summary["new"]]
        pairs += [(n, self.cache_dir / n, None) for n in summary["vanished"]]
        written = self._write_diffs(pairs, out_dir, export_sizes, cache_sizes)
        summary["rows"] = sum(written.values())
        candidates = {n for n, old, new in pairs if old is not None and new is not None}
        summary["changed"] = sorted(n for n in candidates if n in written)
        summary["unchanged"] = sorted(summary["unchanged"] + [n for n in candidates if n not in written])
        log.info("archive diff", export_dir=str(self.export_dir), cache_dir=str(self.cache_dir),
                 **{k: len(v) for k, v in summary.items() if k != "rows"}, rows=summary["rows"])
        return summary

    def _write_diffs(self, pairs, out_dir: Path, export_sizes: dict, cache_sizes: dict) -> dict[str, int]:
        """Diff the file pairs chunk by chunk; write each non-empty diff (a new or vanished file always)."""
        written, chunk, chunk_bytes = {}, [], 0
        with progress(total=len(pairs), desc=f"diff {self.export_dir.name}", unit=" files") as bar:
            for pair in pairs + [None]:
                if pair is not None:
                    chunk.append(pair)
                    chunk_bytes += export_sizes.get(pair[0], 0) + cache_sizes.get(pair[0], 0)
                if chunk and (pair is None or chunk_bytes >= _CHUNK_BYTES):
                    written.update(self._diff_chunk(chunk, out_dir))
                    bar.update(len(chunk))
                    chunk, chunk_bytes = [], 0
        return written

    @staticmethod
    def _diff_chunk(pairs, out_dir: Path) -> dict[str, int]:
        old, new = _Parsed([p[1] for p in pairs]), _Parsed([p[2] for p in pairs])
        out_first = np.zeros(len(pairs), np.int64)
        np.cumsum((old.n + new.n)[:-1], out=out_first[1:])
        total = int((old.n + new.n).sum())
        rows, counts = np.zeros(total, np.int64), np.zeros(len(pairs), np.int64)
        merge_pairs(old.keys, old.q, old.c, old.first, old.n, new.keys, new.q, new.c, new.first, new.n, rows,
                    out_first, counts)
        text, lengths = np.empty(ROW_CAPACITY * total, np.uint8), np.zeros(len(pairs), np.int64)
        render_pairs(old.keys, new.keys, new.q, new.c, rows, out_first, counts, text, lengths)
        written = {}
        for j, (name, before, after) in enumerate(pairs):
            if counts[j] == 0 and before is not None and after is not None:
                continue  # equal after rounding: nothing to deliver
            if lengths[j] >= 0:
                start = ROW_CAPACITY * out_first[j]
                body = text[start:start + lengths[j]].tobytes()
            else:
                body = _python_rows(old.keys, new.keys, new.q, new.c, rows[out_first[j]:out_first[j] + counts[j]])
            # each file complete or absent; no fsync: a diff is recomputable from the cache and the export
            atomic.write_bytes(out_dir / name, DIFF_HEADER + body, durable=False)
            written[name] = int(counts[j])
        return written

    # -- commit ------------------------------------------------------------------------------------------------

    def commit(self) -> dict:
        """Make the cache equal to today's export (vanished files leave it) and record today's issue.

        The cache's manifest is removed first and written last, so a crash in between leaves a cache that the
        next :meth:`diff` compares byte by byte instead of trusting stale hashes. Committing the same issue again
        is a no-op apart from the record.

        Returns
        -------
        dict
            ``copied``, ``removed`` (file counts) and ``issue``.

        Raises
        ------
        InputError
            No issue date is known (neither given nor in the export manifest), or the cache holds a later issue.
        """
        if self.issue_date is None:
            raise InputError("no issue date to record: pass issue_date= or give the export a _SUCCESS manifest",
                             file=self.export_dir)
        cached = self.cache_issue()
        if cached is not None and cached > self.issue_date:
            raise InputError(f"the cache holds a later issue ({cached}) than {self.issue_date}", file=self.cache_dir)
        if self.backend == "git":
            self._git_repo()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        hashes = self._cache_manifest().get("files", {})
        (self.cache_dir / CACHE_MANIFEST).unlink(missing_ok=True)
        export_sizes, cache_sizes = _csv_sizes(self.export_dir), _csv_sizes(self.cache_dir)
        files, copied = {}, 0
        for name, size in sorted(export_sizes.items()):
            data = (self.export_dir / name).read_bytes()
            digest = _digest(data)
            files[name] = [size, digest]
            same = name in cache_sizes and cache_sizes[name] == size and (
                hashes.get(name) == [size, digest] or (self.cache_dir / name).read_bytes() == data)
            if not same:
                atomic.write_bytes(self.cache_dir / name, data, durable=False)
                copied += 1
        removed = sorted(set(cache_sizes) - set(export_sizes))
        for name in removed:
            (self.cache_dir / name).unlink()
        atomic.sync_filesystem(self.cache_dir)  # every copied file on disk before the record that vouches for them
        record = {"issue": self.issue_date.isoformat(), "files": files}
        atomic.write_bytes(self.cache_dir / CACHE_MANIFEST, json.dumps(record).encode())
        if self.backend == "git":
            self._git_commit()
        log.info("archive commit", cache_dir=str(self.cache_dir), issue=self.issue_date.isoformat(), copied=copied,
                 removed=len(removed), backend=self.backend)
        return {"copied": copied, "removed": len(removed), "issue": self.issue_date.isoformat()}

    # -- git backend -------------------------------------------------------------------------------------------

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["git", "-c", "user.name=delphi-signals", "-c", "user.email=delphi-signals@localhost",
                   "-c", "commit.gpgsign=false", *args]
        proc = subprocess.run(command, cwd=self.cache_dir, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise InputError(f"git {' '.join(args[:2])} failed: {proc.stderr.strip()}", file=self.cache_dir)
        return proc

    def _is_repo(self) -> bool:
        """Whether the cache folder is the top of a git repository (never a folder inside another one)."""
        if not self.cache_dir.is_dir():
            return False
        top = self._git("rev-parse", "--show-toplevel", check=False)
        return top.returncode == 0 and Path(top.stdout.strip()).resolve() == self.cache_dir.resolve()

    def _git_repo(self) -> None:
        """Initialise a repository in the cache folder unless it is one already."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        if not self._is_repo():
            self._git("init", "-q")

    def _git_check_clean(self) -> None:
        if not self._is_repo():
            return  # nothing committed yet, nothing dirty
        dirty = self._git("status", "--porcelain", "--", ".").stdout.splitlines()
        if dirty:
            raise InputError(f"the git cache has uncommitted changes: {'; '.join(dirty[:5])}", file=self.cache_dir)

    def _git_commit(self) -> None:
        self._git("add", "-A", "--", ".")
        self._git("commit", "-q", "--allow-empty", "-m", f"delphi-signals cache: issue {self.issue_date.isoformat()}",
                  "--", ".")

    def history(self) -> list[tuple[str, dt.date]]:
        """``(commit, issue)`` of every committed issue, newest first (git backend only).

        A file as of a commit: ``git show <commit>:./<name>`` in the cache folder, or :meth:`read_cached`.
        """
        if self.backend != "git":
            raise InputError("only the git backend keeps a history", file=self.cache_dir)
        lines = self._git("log", "--format=%H %s", "--", ".").stdout.splitlines()
        prefix = "delphi-signals cache: issue "
        return [(c, dt.date.fromisoformat(s[len(prefix):])) for c, s in (line.split(" ", 1) for line in lines)
                if s.startswith(prefix)]

    def read_cached(self, name: str, commit: str) -> bytes:
        """The bytes of the cached file ``name`` as of ``commit`` (git backend)."""
        proc = subprocess.run(["git", "show", f"{commit}:./{name}"], cwd=self.cache_dir, capture_output=True)
        if proc.returncode != 0:
            raise InputError(f"not in the cache at {commit[:12]}: {proc.stderr.decode().strip()}",
                             file=self.cache_dir / name)
        return proc.stdout


def copy_export(export_dir, out_dir) -> list[str]:
    """Full delivery: today's whole export into ``out_dir`` (hard links where possible), for indicators that
    deliver everything instead of a diff. Returns the file names."""
    export_dir, out_dir = Path(export_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(_csv_sizes(export_dir))
    for name in names:
        try:
            os.link(export_dir / name, out_dir / name)
        except OSError:
            shutil.copyfile(export_dir / name, out_dir / name)
    return names
