"""The nightly analytics as Luigi tasks: metadata cache, Sir Complains-a-lot, coverage and latency, revisions.

Each task writes under ``<data_root>/reports/nightly/<YYYYMMDD>/`` and calls one library function of
:mod:`delphi_signals.analytics`; its target file is written last, atomically. ``Staleness`` succeeds when
it finds complaints and records them in its report (the ``delphi-signals nightly`` command exits 1 then).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import luigi

from delphi_signals.epidata.schema import engine_for

from .config import DelphiSignals


class NightlyConfig(luigi.Config):
    """Section ``[nightly]``."""

    @classmethod
    def get_task_family(cls):
        return "nightly"

    staleness_config = luigi.OptionalParameter(default=None, description="Sir Complains-a-lot JSON config "
                                               "(upstream's params.json keys) over the indicators' own staleness "
                                               "limits (optional)")
    slack_webhook_url = luigi.OptionalParameter(default=None, description="Slack incoming webhook for complaints")
    coverage_signals = luigi.OptionalParameter(default=None, description='JSON {"source": ["signal", ...]}; '
                                               "default: the catalogue's representative signals")


def report_folder(date) -> Path:
    """``<data_root>/reports/nightly/<YYYYMMDD>``."""
    return DelphiSignals().root() / "reports" / "nightly" / f"{date:%Y%m%d}"


def _write_json(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


def _engine():
    url = DelphiSignals().database_url()
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return engine_for(url)


def _on_database(compute, *args, **kwargs):
    """``compute(engine, *args, **kwargs)`` on the configured database; the engine is disposed afterwards."""
    engine = _engine()
    try:
        return compute(engine, *args, **kwargs)
    finally:
        engine.dispose()


def _analysed_signals() -> dict:
    """``[nightly] coverage_signals``, else the catalogue's representative signals."""
    from delphi_signals.analytics.coverage import representative_signals

    configured = NightlyConfig().coverage_signals
    return json.loads(configured) if configured else representative_signals()


class MetaCache(luigi.Task):
    """Refresh the metadata cache (incremental; in full when never computed) and record it."""

    date = luigi.DateParameter(description="run date")
    resources = {"epidata_db": 1}  # never while an import writes

    def output(self):
        return luigi.LocalTarget(report_folder(self.date) / "meta.json")

    def run(self):
        from delphi_signals.analytics.meta import refresh

        payload = _on_database(refresh)
        _write_json(Path(self.output().path), payload)


class Staleness(luigi.Task):
    """Sir Complains-a-lot for the run date: ``staleness.json`` (complaints and facts) and ``staleness.txt``."""

    date = luigi.DateParameter(description="run date")

    def output(self):
        return luigi.LocalTarget(report_folder(self.date) / "staleness.json")

    def run(self):
        from delphi_signals.analytics.staleness import run_checks

        from delphi_signals.indicators.registry import get_indicator, sources

        settings = NightlyConfig()
        limits = {source: get_indicator(source).defaults["staleness"] for source in sources()}
        report = _on_database(run_checks, settings.staleness_config, self.date,
                              webhook_url=settings.slack_webhook_url, source_defaults=limits,
                              report_path=self.output().path)
        text = Path(self.output().path).with_suffix(".txt")
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(report["text"])
        _write_json(Path(self.output().path), report)


class CoverageLatency(luigi.Task):
    """Coverage and latency of the representative signals: ``coverage.json``, ``coverage.png``, ``latency.png``."""

    date = luigi.DateParameter(description="run date")

    def output(self):
        return luigi.LocalTarget(report_folder(self.date) / "coverage.json")

    def run(self):
        from delphi_signals.analytics.coverage import coverage_report, write_coverage

        write_coverage(_on_database(coverage_report, self.date, _analysed_signals()), report_folder(self.date))


class RevisionProfiles(luigi.Task):
    """Completeness by lag of the representative signals over the last 56 days' issues: ``revisions.json`` and
    ``revisions.png`` (see :func:`delphi_signals.analytics.revisions.revision_report`)."""

    date = luigi.DateParameter(description="run date")

    def output(self):
        return luigi.LocalTarget(report_folder(self.date) / "revisions.json")

    def run(self):
        from delphi_signals.analytics.revisions import revision_report, write_revision_report

        report = _on_database(revision_report, self.date, _analysed_signals())
        write_revision_report(report, report_folder(self.date))


class Nightly(luigi.WrapperTask):
    """Every nightly analytics task of one run date."""

    date = luigi.DateParameter(description="run date")

    def requires(self):
        return [MetaCache(date=self.date), Staleness(date=self.date), CoverageLatency(date=self.date),
                RevisionProfiles(date=self.date)]
