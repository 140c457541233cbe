"""The publication stage: ``Diff(source, date)`` keeps only what changed, ``Deliver(source, date)`` hands it over.

Targets (ARCHITECTURE.md, "Pipeline stages"): ``diff/<source>/<YYYYMMDD>/_SUCCESS`` (JSON manifest, written with
the diff files in ``diff/<source>/<YYYYMMDD>/csv/`` by one rename of a staging folder), and
``diff/<source>/<YYYYMMDD>/_DELIVERED`` once ``csv/`` has been renamed into
``receiving/issue_<YYYYMMDD>/<source>/`` and the archive cache ``cache/<source>/`` committed. The cache moves
only after a delivery, so a failed delivery is retried from the same cache and loses no change.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import luigi

from delphi_signals.errors import InputError
from delphi_signals import atomic
from delphi_signals.io.archive import ArchiveDiffer, copy_export
from delphi_signals.io.delivery import deliver, receiving_folder
from delphi_signals.log import get_logger

from .config import DelphiSignals
from .indicator import Export, params_for
from .validate import Validate

DEFAULT_DELIVERY = "diff"
FILES = "csv"


class OptionalDateParameter(luigi.parameter.OptionalParameterMixin, luigi.DateParameter):
    """A date or ``None`` (luigi has no such parameter of its own)."""

    expected_type = dt.date


def delivery_mode(source: str, date) -> str:
    """``"diff"`` (only changed rows) or ``"full"`` (the whole export, as upstream's hospital-admissions
    pipelines): the ``delivery.mode`` of the indicator's params (its defaults, then ``<params_dir>/<source>.json``)."""
    mode = params_for(source, date).get("delivery", {}).get("mode", DEFAULT_DELIVERY)
    if mode not in ("diff", "full"):
        raise luigi.parameter.ParameterException(f"delivery mode of {source} must be 'diff' or 'full', not {mode!r}")
    return mode


def cache_dir(source: str) -> Path:
    """The archive cache of ``source``: the full export of its last delivered issue."""
    return DelphiSignals().layout().archive_cache(source)


def diff_folder(source: str, date) -> Path:
    return DelphiSignals().layout().diff(source, date)


class Diff(luigi.Task):
    """Compare one day's export with the archive cache; write the changed rows (or the full export)."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")
    previous = OptionalDateParameter(default=None, description="in a range run, the date before: its "
                                           "Deliver must finish first so the cache holds that issue")

    def requires(self):
        # only a checked export is diffed: Validate fails when errors block delivery
        tasks = {"export": Export(source=self.source, date=self.date),
                 "validation": Validate(source=self.source, date=self.date)}
        if self.previous is not None:
            from .pipeline import previous_issue  # the same chain rule Daily uses, so task ids agree

            tasks["previous"] = Deliver(source=self.source, date=self.previous, previous=previous_issue(self.previous))
        return tasks

    def output(self):
        return luigi.LocalTarget(diff_folder(self.source, self.date) / "_SUCCESS")

    def run(self):
        export_dir = Path(self.input()["export"].path).parent
        differ = ArchiveDiffer(cache_dir(self.source), export_dir, issue_date=self.date)
        cached = differ.cache_issue()
        if cached is not None and cached >= self.date:
            raise InputError(f"the cache already holds issue {cached}; a diff for {self.date} would run ahead of "
                             "what was published", file=differ.cache_dir)
        final = diff_folder(self.source, self.date)
        staging = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        mode = delivery_mode(self.source, self.date)
        self.set_status_message(f"{mode} against cache issue {cached}")
        if mode == "diff":
            summary = differ.diff(staging / FILES)
            counts = {k: len(v) for k, v in summary.items() if isinstance(v, list)}
            files = sorted(summary["new"] + summary["changed"] + summary["vanished"])
        else:
            files = copy_export(export_dir, staging / FILES)
            summary, counts = {"rows": None}, {"full": len(files)}
        manifest = {"source": self.source, "issue_date": self.date.isoformat(), "mode": mode,
                    "export_dir": str(export_dir), "cache_issue": cached and cached.isoformat(),
                    "files": files, "counts": counts, "rows": summary["rows"]}
        atomic.sync_filesystem(staging)  # the diff files (written without fsync) on disk before the manifest
        atomic.write_bytes(staging / "_SUCCESS", json.dumps(manifest, indent=1).encode())
        if final.exists():  # an earlier attempt that never wrote its manifest
            shutil.rmtree(final)
        os.replace(staging, final)
        get_logger(__name__, source=self.source).info("diff finished", issue=self.date.isoformat(), mode=mode,
                                                      rows=summary["rows"], **counts)


class Deliver(luigi.Task):
    """Rename the day's diff into ``receiving/issue_<YYYYMMDD>/<source>/``, then commit the archive cache."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")
    previous = OptionalDateParameter(default=None, description="passed on to Diff (range runs)")

    def requires(self):
        return Diff(source=self.source, date=self.date, previous=self.previous)

    def output(self):
        return luigi.LocalTarget(diff_folder(self.source, self.date) / "_DELIVERED")

    def run(self):
        folder = diff_folder(self.source, self.date)
        manifest = json.loads((folder / "_SUCCESS").read_text())
        receiving = DelphiSignals().root() / "receiving"
        if (folder / FILES).exists():
            target = deliver(folder / FILES, receiving, self.source, self.date)
        else:  # Diff always writes csv/: an earlier attempt renamed it, then failed before its target
            target = receiving_folder(receiving, self.source, self.date)
        committed = ArchiveDiffer(cache_dir(self.source), manifest["export_dir"], issue_date=self.date).commit()
        record = {"source": self.source, "issue_date": self.date.isoformat(), "receiving": str(target),
                  "files": len(manifest["files"]), "cache": committed}
        atomic.write_bytes(folder / "_DELIVERED", json.dumps(record, indent=1).encode())


def delivery_chain(source: str, dates) -> list[Deliver]:
    """``Deliver`` tasks for a range run: each day's diff waits for the previous day's delivery.

    Examples
    --------
    >>> import datetime as dt
    >>> [t.previous for t in delivery_chain("jhu-csse", [dt.date(2020, 4, 2), dt.date(2020, 4, 1)])]
    [None, datetime.date(2020, 4, 1)]
    """
    dates = sorted(dates)
    return [Deliver(source=source, date=d, previous=p) for d, p in zip(dates, [None] + dates[:-1])]
