"""``delphi-signals``: run the pipeline's Luigi tasks from the command line.

Exit codes: 0 every task succeeded (possibly after retries); 20 external data missing; 25 tasks not run
(blocked upstream); 30 a task failed; 35 scheduling failed; 2 bad usage. ``validate``: 0 passed, 1 unsuppressed
errors, 2 bad usage or params, 20 export folder missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import luigi
from luigi.execution_summary import LuigiStatusCode

from .indicator import Export

DEMO_DATE = dt.date(2020, 11, 30)
EXIT_CODES = {
    LuigiStatusCode.SUCCESS: 0,
    LuigiStatusCode.SUCCESS_WITH_RETRY: 0,
    LuigiStatusCode.MISSING_EXT: 20,
    LuigiStatusCode.NOT_RUN: 25,
    LuigiStatusCode.FAILED: 30,
    LuigiStatusCode.FAILED_AND_SCHEDULING_FAILED: 30,
    LuigiStatusCode.SCHEDULING_FAILED: 35,
}


def run(args) -> int:
    """Build ``Export(source, date)`` (and what it needs) on the local or a central scheduler."""
    tasks = [Export(source=args.source, date=args.date)]
    kwargs = {"local_scheduler": True} if args.scheduler_url is None else {"scheduler_url": args.scheduler_url}
    result = luigi.build(tasks, detailed_summary=True, workers=args.workers, **kwargs)  # logs its summary
    return EXIT_CODES.get(result.status, 30)


def _add_validate(commands) -> None:
    """``delphi-signals validate <export_dir> --source NAME``: print the summary; exit 0 passed, 1 unsuppressed
    errors (not in a dry run), 2 bad usage or params, 20 export folder missing."""
    import json
    from pathlib import Path

    from delphi_signals.errors import InputError
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
            params = json.loads(Path(args.params).read_text()) if args.params else {}
            params = params.get("validation", params) if isinstance(params, dict) else params
            report = validate_export(export_dir, source=args.source, issue_date=issue, validation=params,
                                     reference_dir=args.reference)
        except (OSError, json.JSONDecodeError, InputError) as exc:
            print(f"delphi-signals validate: {exc}", file=sys.stderr)
            return 2
        if args.report:
            report.write(args.report)
        print(report.summary_text())
        return 1 if report.blocking else 0

    cmd = commands.add_parser("validate", help="check an export folder (static and dynamic checks)")
    cmd.add_argument("export_dir")
    cmd.add_argument("--source", required=True)
    cmd.add_argument("--issue-date", type=dt.date.fromisoformat, default=None,
                     help="YYYY-MM-DD, the validator's today (default: the export manifest's issue date)")
    cmd.add_argument("--reference", default=None, help="folder of published CSVs (the archive cache)")
    cmd.add_argument("--params", default=None, help="JSON: a params.json or its validation section")
    cmd.add_argument("--report", default=None, help="also write the JSON report here")
    cmd.set_defaults(handler=validate)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="delphi-signals", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("run", help="pull and export one issue of a source (default: the offline demo)")
    cmd.add_argument("--source", default="jhu-csse")
    cmd.add_argument("--date", type=dt.date.fromisoformat, default=DEMO_DATE,
                     help=f"issue date, YYYY-MM-DD (default {DEMO_DATE}, inside the demo source's range)")
    cmd.add_argument("--workers", type=int, default=1)
    cmd.add_argument("--scheduler-url", default=None, help="a luigid URL; default: the local scheduler")
    cmd.set_defaults(handler=run)
    _add_validate(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
