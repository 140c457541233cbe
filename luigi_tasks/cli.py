"""``delphi-signals``: run the pipeline's Luigi tasks from the command line.

Exit codes: 0 every task succeeded (possibly after retries); 20 external data missing; 25 tasks not run
(blocked upstream); 30 a task failed; 35 scheduling failed; 2 bad usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import luigi
import sqlalchemy
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


def _add_db(commands) -> None:
    """``delphi-signals db init [--db URL]``: create or upgrade the epidata schema."""
    from delphi_signals.epidata.schema import create_schema, engine_for
    from delphi_signals.errors import DelphiSignalsError

    from .config import DelphiSignals

    def init(args) -> int:
        url = args.db or DelphiSignals().database_url()
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = engine_for(url)
            create_schema(engine)
            engine.dispose()
        except (DelphiSignalsError, sqlalchemy.exc.SQLAlchemyError) as exc:
            print(f"delphi-signals db init: {exc}", file=sys.stderr)
            return 1
        print(f"epidata schema ready in {engine.url.render_as_string(hide_password=True)}")
        return 0

    db = commands.add_parser("db", help="the epidata database")
    actions = db.add_subparsers(dest="db_command", required=True)
    cmd = actions.add_parser("init", help="create the epidata tables that are missing (safe to rerun)")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url in luigi.cfg, "
                     "else sqlite:///<data_root>/epidata.sqlite)")
    cmd.set_defaults(handler=init)


def _add_serve(commands) -> None:
    """``delphi-signals serve --db URL [--host H] [--port P] [--workers N]``: the Epidata-compatible API."""

    def serve(args) -> int:
        from delphi_signals.api import serve as run_server

        from .config import DelphiSignals

        run_server(args.db or DelphiSignals().database_url(), host=args.host, port=args.port, workers=args.workers)
        return 0

    cmd = commands.add_parser("serve", help="serve the database through an Epidata-compatible HTTP API")
    cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url in luigi.cfg)")
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=int, default=10080)
    cmd.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    cmd.set_defaults(handler=serve)


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
    _add_db(commands)
    _add_serve(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
