"""``delphi-signals``: the one command line of the system (also ``python -m delphi_signals``).

Every subcommand lives on this parser and shares one exit-code table (:data:`EXIT`):

====  =====================================================================================
code  meaning
====  =====================================================================================
0     success
1     the command ran and its checks found problems (validation errors, staleness complaints)
2     bad usage (unknown option, source, signal or geo type; a malformed ``luigi.cfg``)
10    Luigi: a task is already running (another worker of the scheduler runs it)
20    input, data root, database or port missing or unusable, or a past issue the source cannot reproduce
25    Luigi: tasks not run (not granted run permission by the scheduler)
30    Luigi: a task failed
35    Luigi: scheduling failed
40    an unexpected internal error (its traceback goes to the log)
====  =====================================================================================

Every expected kind of error is one message on stderr; a traceback reaches the user only with code 40.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import sqlalchemy

from .cli_checks import port_number, positive_int

EXIT = {"ok": 0, "problems": 1, "usage": 2, "already_running": 10, "input_missing": 20, "not_run": 25,
        "failed": 30, "scheduling_failed": 35, "unexpected": 40}
DEMO_DATE = dt.date(2020, 11, 30)
LUIGI_OUTCOMES = {EXIT["already_running"]: "a task is already running in another worker",
                  EXIT["input_missing"]: "an external input is missing",
                  EXIT["not_run"]: "tasks were not granted run permission by the scheduler",
                  EXIT["failed"]: "a task failed", EXIT["scheduling_failed"]: "scheduling failed"}


def _luigi_exit_code(result) -> int:
    from luigi.execution_summary import LuigiStatusCode as S
    from luigi.execution_summary import _summary_dict

    code = {S.SUCCESS: EXIT["ok"], S.SUCCESS_WITH_RETRY: EXIT["ok"], S.MISSING_EXT: EXIT["input_missing"],
            S.NOT_RUN: EXIT["not_run"], S.FAILED: EXIT["failed"], S.FAILED_AND_SCHEDULING_FAILED: EXIT["failed"],
            S.SCHEDULING_FAILED: EXIT["scheduling_failed"]}.get(result.status, EXIT["failed"])
    # Luigi's status calls a run left to another worker a success; its [retcode] already_running does not
    if code == EXIT["ok"] and _summary_dict(result.worker)["run_by_other_worker"]:
        code = EXIT["already_running"]
    return code


def build(tasks, args) -> int:
    """Run ``tasks`` on the local scheduler or the ``luigid`` at ``--scheduler-url``; the Luigi exit code."""
    import luigi

    from .console import TaskProgress

    kwargs = {"local_scheduler": True} if args.scheduler_url is None else {"scheduler_url": args.scheduler_url}
    with TaskProgress(_stage_name(tasks)):
        result = luigi.build(tasks, detailed_summary=True, workers=args.workers, **kwargs)
    code = _luigi_exit_code(result)
    if code != EXIT["ok"]:
        if not getattr(args, "verbose", False):  # --verbose: Luigi printed it already
            print(result.summary_text, file=sys.stderr)
        outcome = LUIGI_OUTCOMES.get(code, "Luigi did not finish the tasks")
        print(f"delphi-signals {getattr(args, 'command', '')}: {outcome} (exit {code})", file=sys.stderr)
    return code


def _stage_name(tasks) -> str:
    """The progress bar's label for a build: ``Daily 2020-11-30`` or ``Nightly 2020-11-30 …``."""
    families = list(dict.fromkeys(t.task_family for t in tasks))
    dates = sorted({str(getattr(t, "date", "")) for t in tasks} - {""})
    when = dates[0] if len(dates) == 1 else (f"{dates[0]}..{dates[-1]}" if dates else "")
    return " ".join([", ".join(families), when]).strip()


def _export_summary(task) -> str:
    manifest = json.loads(open(task.output().path).read())
    return (f"{manifest['source']} issue {manifest['issue_date']}: {manifest['file_count']} files, "
            f"{len(manifest['signals'])} signals at {', '.join(manifest['geo_types'])}, time values "
            f"{manifest['first_time_value']}..{manifest['last_time_value']}, "
            f"{manifest['elapsed_seconds']} s, in {task.folder()}")


def run(args) -> int:
    """The main job: ``Daily`` for ``--days`` consecutive issues ending at ``--date``, then ``Nightly``, and a
    summary of what landed; with ``--until export``, only pull and export one issue (as before the pipeline).

    A past issue a source cannot reproduce stops before Luigi (exit 20)."""
    import luigi

    from .cli_checks import configured_data_root, usable_database
    from .config import DelphiSignals
    from .indicator import Export, check_reproducible, is_configured, not_configured_hint

    configured_data_root()
    if args.until != "export":
        usable_database(DelphiSignals().database_url()).dispose()
    config = luigi.configuration.get_config()
    sources = [args.source] if args.source else None
    for source in sources or _pipeline_sources():
        if not is_configured(source):
            print(f"delphi-signals run: {source} is {not_configured_hint(source)} of luigi.cfg (its indicator "
                  "declares no base_url and has no offline demo)", file=sys.stderr)
            return EXIT["usage"]
    if args.allow_current:
        for source in sources or _pipeline_sources():
            config.set(source, "allow_current", "true")
    dates = [args.date - dt.timedelta(days=args.days - 1 - i) for i in range(args.days)]
    for source in sources or _pipeline_sources():
        for date in dates:
            check_reproducible(source, date)
    if args.until == "export":
        tasks = [Export(source=s, date=d) for s in sources or _pipeline_sources() for d in dates]
        code = build(tasks, args)
        if code == EXIT["ok"]:
            for task in tasks:
                print(_export_summary(task))
            for line in [] if sources else _not_configured_lines():
                print(line)
        return code
    from .nightly import Nightly
    from .pipeline import Daily

    if sources:
        config.set("pipeline", "sources", ",".join(sources))
    if not config.get("pipeline", "first_date", None):
        config.set("pipeline", "first_date", dates[0].isoformat())
    code = build([Daily(date=d) for d in dates], args)
    if code == EXIT["ok"]:
        code = build([Nightly(date=dates[-1])], args)
    if code == EXIT["ok"]:
        print(_pipeline_summary(dates))
    return code


def _pipeline_sources() -> list[str]:
    from .pipeline import daily_sources

    return daily_sources()


def _pipeline_summary(dates) -> str:
    """What landed: per issue the files exported and delivered and the rows imported; complaints; where."""
    from delphi_signals.epidata.schema import engine_for

    from .config import DelphiSignals

    settings = DelphiSignals()
    layout, url = settings.layout(), settings.database_url()
    engine = engine_for(url)
    lines = []
    with engine.connect() as conn:
        for date in dates:
            issue = int(f"{date:%Y%m%d}")
            rows = conn.execute(sqlalchemy.text("SELECT COUNT(*) FROM epimetric_full WHERE issue = :i"),
                                {"i": issue}).scalar()
            parts = []
            for source in _pipeline_sources():
                manifest = layout.export(source, date) / "_SUCCESS"
                exported = json.loads(manifest.read_text())["file_count"] if manifest.exists() else 0
                delivered = layout.diff(source, date) / "_DELIVERED"
                sent = json.loads(delivered.read_text())["files"] if delivered.exists() else 0
                parts.append(f"{source} {exported} exported / {sent} delivered")
            lines.append(f"issue {date}: {'; '.join(parts)}; {rows} rows imported")
    engine.dispose()
    staleness = layout.nightly(dates[-1]) / "staleness.json"
    complaints = len(json.loads(staleness.read_text())["complaints"]) if staleness.exists() else None
    lines.append(f"nightly {dates[-1]}: {complaints} staleness complaint(s); reports in {layout.nightly(dates[-1])}")
    from .fault_cli import proposed_line

    lines.append(proposed_line(url))
    lines.append(f"database: {engine.url.render_as_string(hide_password=True)}; data root: {layout.path}")
    lines += _not_configured_lines()
    return "\n".join(lines)


def _not_configured() -> dict[str, str]:
    """Each registered source that cannot run here, with what to do about it."""
    from .indicator import not_configured_hint
    from .pipeline import unconfigured_sources

    return {source: not_configured_hint(source) for source in unconfigured_sources()}


def _not_configured_lines() -> list[str]:
    """``<source>: not configured: set base_url in [<source>]`` for each registered source the run skipped."""
    return [f"{source}: {hint}" for source, hint in _not_configured().items()]


def _add_run(commands, source_names) -> None:
    cmd = commands.add_parser("run", help="the pipeline on consecutive issue dates, then the nightly analytics "
                              "(default: the offline demo, SQLite, the local scheduler)")
    cmd.add_argument("--source", default=None, choices=source_names,
                     help="only this source (default: [pipeline] sources, else every registered indicator)")
    cmd.add_argument("--date", type=dt.date.fromisoformat, default=DEMO_DATE,
                     help=f"last issue date, YYYY-MM-DD (default {DEMO_DATE}, inside the demo source's range)")
    cmd.add_argument("--days", type=positive_int, default=3,
                     help="consecutive issue dates ending at --date (default 3)")
    cmd.add_argument("--until", choices=("export", "publish"), default="publish",
                     help="export: only pull and export; publish (default): validate, diff, deliver, import and "
                     "the nightly analytics too")
    cmd.add_argument("--allow-current", action="store_true",
                     help="for a source without history: label today's data with a past issue date")
    _add_scheduler_options(cmd)
    cmd.set_defaults(handler=run)


def _add_scheduler_options(cmd) -> None:
    cmd.add_argument("--workers", type=positive_int, default=1)
    cmd.add_argument("--scheduler-url", default=None, help="a luigid URL; default: the local scheduler")


def _add_validate(commands, source_names) -> None:
    """``delphi-signals validate <export_dir> --source NAME``: print the summary; exit 0 passed, 1 unsuppressed
    errors (not in a dry run), 2 bad usage or params, 20 export folder missing."""
    import json
    from pathlib import Path

    from delphi_signals.errors import InputError
    from delphi_signals.indicators.params import deep_merge
    from delphi_signals.indicators.registry import get_indicator
    from delphi_signals.validate import validate_export

    def issue_from(export_dir: Path) -> dt.date:
        """The Export manifest's issue date, else a ``YYYYMMDD`` folder name."""
        manifest = export_dir / "_SUCCESS"
        if manifest.exists():
            return dt.date.fromisoformat(json.loads(manifest.read_text())["issue_date"])
        return dt.datetime.strptime(export_dir.name, "%Y%m%d").date()

    def validate(args) -> int:
        export_dir = Path(args.export_dir)
        if not export_dir.is_dir():
            print(f"delphi-signals validate: {export_dir}: no such export folder", file=sys.stderr)
            return 20
        try:
            issue = args.issue_date or issue_from(export_dir)
        except (ValueError, KeyError):
            print("delphi-signals validate: give --issue-date (no _SUCCESS manifest, folder not named YYYYMMDD)",
                  file=sys.stderr)
            return 2
        try:
            given = json.loads(Path(args.params).read_text()) if args.params else {}
            given = given.get("validation", given) if isinstance(given, dict) else given
            # the indicator's own defaults (upstream's params.json.template), overridden by the file given
            params = deep_merge(get_indicator(args.source).defaults.get("validation", {}), given)
            report = validate_export(export_dir, source=args.source, issue_date=issue, validation=params,
                                     reference_dir=args.reference)
        except (OSError, json.JSONDecodeError, InputError) as exc:
            print(f"delphi-signals validate: {exc}", file=sys.stderr)
            return 2
        if args.report:
            report.write(args.report)
        print(report.summary_text())
        if args.db:  # only with --db: the standalone validator proposes faults
            from .fault_cli import propose_validation_faults

            propose_validation_faults(args.db, report, args.report or export_dir, params)
        return 1 if report.blocking else 0

    cmd = commands.add_parser("validate", help="check an export folder (static and dynamic checks)")
    cmd.add_argument("export_dir")
    cmd.add_argument("--source", required=True, choices=source_names)
    cmd.add_argument("--issue-date", type=dt.date.fromisoformat, default=None,
                     help="YYYY-MM-DD, the validator's today (default: the export manifest's issue date)")
    cmd.add_argument("--reference", default=None, help="folder of published CSVs (the archive cache)")
    cmd.add_argument("--params", default=None, help="JSON: a params.json or its validation section, over the "
                     "indicator's defaults")
    cmd.add_argument("--report", default=None, help="also write the JSON report here")
    cmd.add_argument("--db", default=None, help="propose faults from the findings in this database")
    cmd.set_defaults(handler=validate)


def _add_diff(commands) -> None:
    """``delphi-signals diff``: one day's diff by hand, through Luigi or on explicit folders."""
    from delphi_signals.indicators.registry import sources

    def run_diff(args) -> int:
        import json

        folders = (args.export, args.cache, args.out)
        if any(folders):
            if not all(folders):
                print("--export, --cache and --out go together", file=sys.stderr)
                return EXIT["usage"]
            from delphi_signals.errors import DelphiSignalsError
            from delphi_signals.io.archive import ArchiveDiffer

            for option, folder in (("--export", args.export), ("--cache", args.cache)):
                if not Path(folder).is_dir():
                    print(f"delphi-signals diff: {option} {folder}: no such folder", file=sys.stderr)
                    return EXIT["input_missing"]
            try:
                summary = ArchiveDiffer(args.cache, args.export).diff(args.out)
            except DelphiSignalsError as exc:
                print(f"delphi-signals diff: {exc}", file=sys.stderr)
                return EXIT["failed"]
            print(json.dumps({k: len(v) if isinstance(v, list) else v for k, v in summary.items()}))
            return 0
        if args.source is None or args.date is None:
            print("give --source and --date, or --export, --cache and --out", file=sys.stderr)
            return EXIT["usage"]
        from .cli_checks import configured_data_root
        from .diff import Diff

        configured_data_root()
        return build([Diff(source=args.source, date=args.date)], args)

    cmd = commands.add_parser("diff", help="diff one day's export against the archive cache (nothing delivered)")
    cmd.add_argument("--source", choices=sources(), help="with --date: run the Diff task (and the export it needs)")
    cmd.add_argument("--date", type=dt.date.fromisoformat, help="issue date, YYYY-MM-DD")
    cmd.add_argument("--export", help="or diff this export folder …")
    cmd.add_argument("--cache", help="… against this cache folder …")
    cmd.add_argument("--out", help="… into this (new) folder, printing the counts as JSON")
    _add_scheduler_options(cmd)
    cmd.set_defaults(handler=run_diff)


def _add_db(commands) -> None:
    """``delphi-signals db init [--db URL]``: create or upgrade the epidata schema."""
    from delphi_signals.epidata.schema import create_schema
    from delphi_signals.errors import DelphiSignalsError

    from .config import DelphiSignals

    def init(args) -> int:
        from .cli_checks import configured_data_root, usable_database

        if not args.db:
            configured_data_root()
        url = args.db or DelphiSignals().database_url()
        engine = usable_database(url)
        try:
            create_schema(engine)
        except (DelphiSignalsError, sqlalchemy.exc.SQLAlchemyError) as exc:
            print(f"delphi-signals db init: {exc}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
        print(f"epidata schema ready in {engine.url.render_as_string(hide_password=True)}")
        return 0

    db = commands.add_parser("db", help="the epidata database")
    actions = db.add_subparsers(dest="db_command", required=True)
    cmd = actions.add_parser("init", help="create the epidata tables that are missing (safe to rerun)")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url in luigi.cfg, "
                     "else sqlite:///<data_root>/epidata.sqlite)")
    cmd.set_defaults(handler=init)


def _add_import(commands) -> None:
    """``delphi-signals import --source NAME [--issue YYYY-MM-DD] [--db URL] [--data-root DIR]``.

    Imports ``receiving/<source>/`` (issue: ``--issue``, default today) and ``receiving/issue_YYYYMMDD/<source>/``
    (issue: the folder's date), prints the summary as JSON; exit 0 every file loaded, 1 a file failed (or the
    database refused a load), 2 bad usage.
    """
    import json

    from delphi_signals.epidata.filecheck import SOURCE_NAME
    from delphi_signals.epidata.importer import import_receiving
    from delphi_signals.errors import DatabaseError, InputError
    from delphi_signals.layout import default_db_url

    from .config import DelphiSignals

    def run_import(args) -> int:
        from delphi_signals.indicators.registry import sources
        from delphi_signals.preflight import ensure_data_root

        from .cli_checks import usable_database

        config = DelphiSignals()
        root = Path(args.data_root) if args.data_root else config.root()
        if not SOURCE_NAME.fullmatch(args.source):
            print(f"delphi-signals import: source must be 1-32 of a-z, 0-9, '_', '-', starting with a letter or "
                  f"digit; got {args.source!r}", file=sys.stderr)
            return EXIT["usage"]
        known = sorted(set(sources()) | _received_sources(root))
        if args.source not in known:
            print(f"delphi-signals import: unknown source {args.source!r}; known (registered or waiting in "
                  f"{root / 'receiving'}): {', '.join(known)}", file=sys.stderr)
            return EXIT["usage"]
        ensure_data_root(root)
        url = args.db or config.db_url or default_db_url(root)
        usable_database(url).dispose()
        try:
            summary = import_receiving(root, url, issue=args.issue, source=args.source)
        except InputError as exc:
            print(f"delphi-signals import: {exc}", file=sys.stderr)
            return 2
        except (DatabaseError, sqlalchemy.exc.SQLAlchemyError) as exc:
            print(f"delphi-signals import: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(summary, indent=1))
        return 1 if summary["files_failed"] else 0

    def _received_sources(root: Path) -> set[str]:
        """Sources with a folder in ``receiving/`` (``receiving/<source>/`` or ``receiving/issue_*/<source>/``)."""
        receiving = root / "receiving"
        try:
            folders = [p for p in receiving.iterdir() if p.is_dir()] if receiving.is_dir() else []
            names = {p.name for p in folders if not p.name.startswith("issue_")}
            names.update(sub.name for p in folders if p.name.startswith("issue_") for sub in p.iterdir()
                         if sub.is_dir())
        except OSError:  # unreadable: the data root check that follows names the problem
            return set()
        return names

    cmd = commands.add_parser("import", help="load received CSV files into the epidata database")
    cmd.add_argument("--source", required=True, help="the source to import (its receiving/<source>/ folders)")
    cmd.add_argument("--issue", type=dt.date.fromisoformat, default=None,
                     help="issue of the files in receiving/<source>/, YYYY-MM-DD (default: today)")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url in luigi.cfg, "
                     "else sqlite:///<data root>/epidata.sqlite)")
    cmd.add_argument("--data-root", default=None, help="the data root holding receiving/ and archive/ (default: "
                     "[delphi_signals] data_root in luigi.cfg)")
    cmd.set_defaults(handler=run_import)


def _add_nightly(commands) -> None:
    """``delphi-signals nightly [--date D] [--db URL]``: the nightly analytics; exit 1 when there are complaints."""
    import json

    from .nightly import Nightly, Staleness

    def nightly(args) -> int:
        from .cli_checks import configured_data_root, usable_database
        from .config import DelphiSignals

        configured_data_root()
        usable_database(args.db or DelphiSignals().database_url()).dispose()
        if args.db:
            import luigi

            luigi.configuration.get_config().set("delphi_signals", "db_url", args.db)
        code = build([Nightly(date=args.date)], args)
        report = Path(Staleness(date=args.date).output().path)
        if code == 0 and report.exists():
            complaints = json.loads(report.read_text())["complaints"]
            print(f"{len(complaints)} complaint(s); reports in {report.parent}")
            return EXIT["problems"] if complaints else EXIT["ok"]
        return code

    cmd = commands.add_parser("nightly", help="metadata cache, staleness complaints, coverage and latency, revisions "
                              "(exit 1 when there are complaints)")
    cmd.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today(), help="run date, YYYY-MM-DD")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url)")
    _add_scheduler_options(cmd)
    cmd.set_defaults(handler=nightly)


def _add_meta(commands) -> None:
    """``delphi-signals meta [--db URL] [--full]``: refresh the metadata cache; exit 1 if it could not be cached."""
    from delphi_signals.errors import DelphiSignalsError

    from .config import DelphiSignals

    def meta(args) -> int:
        from delphi_signals.analytics.meta import update_meta

        from .cli_checks import usable_database

        engine = usable_database(args.db or DelphiSignals().database_url())
        try:
            result = update_meta(engine, full=args.full)
            engine.dispose()
        except (DelphiSignalsError, sqlalchemy.exc.SQLAlchemyError) as exc:
            print(f"delphi-signals meta: {exc}", file=sys.stderr)
            return 1
        print(f"metadata {result.mode}: {len(result.pairs)} pair(s) recomputed, {result.row_count} cache rows, "
              f"{'written' if result.written else 'not written'} in {result.seconds:.2f} s")
        return 1 if result.mode != "unchanged" and not result.written else 0

    cmd = commands.add_parser("meta", help="refresh the metadata cache (pending pairs only, unless --full)")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url)")
    cmd.add_argument("--full", action="store_true", help="recompute every (source, signal) pair")
    cmd.set_defaults(handler=meta)


def _add_status(commands) -> None:
    """``delphi-signals status [--db URL] [--json]``: where each source stands; exit 1 when something is wrong."""

    def status(args) -> int:
        from delphi_signals.status import has_problems, pipeline_status, status_text

        from .cli_checks import configured_data_root, usable_database
        from .config import DelphiSignals

        settings = DelphiSignals()
        root = configured_data_root(create=False, writable=False)
        engine = usable_database(args.db or settings.database_url(), create=False)
        if engine is None and args.db:  # a database named on the command line must be there
            from delphi_signals.errors import UnusableError

            raise UnusableError(f"database {args.db}: no such SQLite file")
        try:
            report = pipeline_status(settings.layout(), engine, _pipeline_sources(), _not_configured())
        finally:
            if engine is not None:
                engine.dispose()
        if root is None and engine is None and not args.json:
            print(f"nothing has run yet: no data root at {settings.root()} (`delphi-signals run` makes one)")
            return EXIT["ok"]
        print(json.dumps(report, indent=1) if args.json else status_text(report))
        return EXIT["problems"] if has_problems(report) else EXIT["ok"]

    cmd = commands.add_parser("status", help="where each source stands: export, validation, delivery, import "
                              "(exit 1 when something is wrong)")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url)")
    cmd.add_argument("--json", action="store_true", help="the whole state as JSON")
    cmd.set_defaults(handler=status)


def _add_serve(commands) -> None:
    """``delphi-signals serve --db URL [--host H] [--port P] [--workers N]``: the Epidata-compatible API."""

    def serve(args) -> int:
        import os

        import numba

        from delphi_signals.api import serve as run_server

        # the server's threads may run kernels at once: numba's thread-safe default layer, not the fork-safe one
        # the Luigi layer picks for its forked workers (its pool has not started in this process yet)
        os.environ["NUMBA_THREADING_LAYER"] = "default"
        numba.config.THREADING_LAYER = "default"

        from delphi_signals.preflight import check_port

        from .cli_checks import usable_database
        from .config import DelphiSignals

        url = args.db or DelphiSignals().database_url()
        usable_database(url).dispose()
        check_port(args.host, args.port)
        try:
            run_server(url, host=args.host, port=args.port, workers=args.workers)
        except SystemExit as exc:  # uvicorn's own exit: 3 when it could not start (the port taken meanwhile)
            if exc.code in (None, 0):
                return EXIT["ok"]
            print(f"delphi-signals serve: the server could not start on {args.host}:{args.port}", file=sys.stderr)
            return EXIT["input_missing"]
        return EXIT["ok"]

    cmd = commands.add_parser("serve", help="serve the database through an Epidata-compatible HTTP API")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url in luigi.cfg)")
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=port_number, default=10080)
    cmd.add_argument("--workers", type=positive_int, default=1, help="uvicorn worker processes")
    cmd.set_defaults(handler=serve)


def parser() -> argparse.ArgumentParser:
    """The command line's parser: every subcommand, with the registered sources as choices."""
    from delphi_signals.indicators.registry import sources

    top = argparse.ArgumentParser(prog="delphi-signals", description="Raw public-health data into versioned, "
                                  "validated epidemiological signals.", epilog="exit codes: " + ", ".join(
                                      f"{code} {name}" for name, code in EXIT.items()))
    top.add_argument("--verbose", action="store_true", help="DEBUG events and Luigi's own lines too")
    top.add_argument("--quiet", action="store_true", help="the summary and errors alone (no progress bars)")
    top.add_argument("--log-file", default=None, metavar="PATH",
                     help="also write every event, DEBUG included, as JSON lines to PATH")
    commands = top.add_subparsers(dest="command", required=True)
    _add_run(commands, sources())
    _add_validate(commands, sources())
    _add_diff(commands)
    _add_db(commands)
    _add_import(commands)
    _add_nightly(commands)
    _add_meta(commands)
    _add_status(commands)
    _add_serve(commands)
    from .fault_cli import add_fault_commands

    add_fault_commands(commands)
    return top


def _exit_code_of(exc: BaseException) -> int | None:
    """The exit code of an expected kind of error (reported as one message), ``None`` for an unexpected one."""
    import configparser

    from delphi_signals.errors import DelphiSignalsError, UnknownNameError, UnusableError, UsageError
    from delphi_signals.sources.errors import SourceVersionError

    from .indicator import NotConfiguredError

    kinds = ((SourceVersionError, "input_missing"), (UnknownNameError, "usage"), (UsageError, "usage"),
             (NotConfiguredError, "usage"), (configparser.Error, "usage"), (UnusableError, "input_missing"),
             (OSError, "input_missing"), (sqlalchemy.exc.DBAPIError, "input_missing"),
             (DelphiSignalsError, "problems"))
    return next((EXIT[name] for kind, name in kinds if isinstance(exc, kind)), None)


def main(argv=None) -> int:
    """Run one subcommand; its exit code is the table's (module docstring)."""
    from delphi_signals.log import get_logger

    from .console import configure

    args = parser().parse_args(argv)
    if args.verbose and args.quiet:
        print("delphi-signals: --verbose and --quiet exclude each other", file=sys.stderr)
        return EXIT["usage"]
    try:
        configure(verbose=args.verbose, quiet=args.quiet, log_file=args.log_file)
    except OSError as exc:
        print(f"delphi-signals: --log-file: {exc}", file=sys.stderr)
        return EXIT["usage"]
    try:
        return args.handler(args)
    except Exception as exc:
        from .cli_checks import config_value_problem

        code = _exit_code_of(exc)
        if code is None and (problem := config_value_problem(exc)):
            print(f"delphi-signals {args.command}: {problem}", file=sys.stderr)
            return EXIT["usage"]
        if code is None:
            get_logger("delphi_signals.cli").exception("unexpected internal error", command=args.command)
            print(f"delphi-signals: unexpected internal error ({type(exc).__name__}: {exc}); the traceback is in "
                  "the log", file=sys.stderr)
            return EXIT["unexpected"]
        message = str(getattr(exc, "orig", None) or exc).splitlines()[0] if code != EXIT["usage"] else str(exc)
        print(f"delphi-signals {args.command}: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
