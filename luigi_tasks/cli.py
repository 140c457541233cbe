"""``delphi-signals``: run the pipeline's Luigi tasks from the command line.

Exit codes: 0 every task succeeded (possibly after retries); 20 external data missing; 25 tasks not run
(blocked upstream); 30 a task failed; 35 scheduling failed; 2 bad usage.
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


def _add_diff(commands) -> None:
    """``delphi-signals diff``: one day's diff by hand, through Luigi or on explicit folders."""

    def run_diff(args) -> int:
        import json

        folders = (args.export, args.cache, args.out)
        if any(folders):
            if not all(folders):
                print("--export, --cache and --out go together", file=sys.stderr)
                return 2
            from delphi_signals.errors import DelphiSignalsError
            from delphi_signals.io.archive import ArchiveDiffer

            try:
                summary = ArchiveDiffer(args.cache, args.export).diff(args.out)
            except DelphiSignalsError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 30
            print(json.dumps({k: len(v) if isinstance(v, list) else v for k, v in summary.items()}))
            return 0
        if args.source is None or args.date is None:
            print("give --source and --date, or --export, --cache and --out", file=sys.stderr)
            return 2
        from .diff import Diff

        kwargs = {"local_scheduler": True} if args.scheduler_url is None else {"scheduler_url": args.scheduler_url}
        result = luigi.build([Diff(source=args.source, date=args.date)], detailed_summary=True, **kwargs)
        return EXIT_CODES.get(result.status, 30)

    cmd = commands.add_parser("diff", help="diff one day's export against the archive cache (nothing delivered)")
    cmd.add_argument("--source", help="with --date: run the Diff task (and the export it needs)")
    cmd.add_argument("--date", type=dt.date.fromisoformat, help="issue date, YYYY-MM-DD")
    cmd.add_argument("--export", help="or diff this export folder …")
    cmd.add_argument("--cache", help="… against this cache folder …")
    cmd.add_argument("--out", help="… into this (new) folder, printing the counts as JSON")
    cmd.add_argument("--scheduler-url", default=None, help="a luigid URL; default: the local scheduler")
    cmd.set_defaults(handler=run_diff)


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
    _add_diff(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
