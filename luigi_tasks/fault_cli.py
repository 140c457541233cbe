"""``delphi-signals fault add|list|show|confirm|resolve|dismiss``: the fault record from the command line.

Every subcommand takes ``--db URL`` (default: the configured database, as the other commands). Exit codes are
the command line's (:data:`luigi_tasks.cli.EXIT`): 0 done; 1 the database refused; 2 bad usage — a bad scope
(unknown source, signal, geo type or geo value for the level, an end before its start), an unknown fault id
or a bad date, with a message naming it.
"""

from __future__ import annotations

import json
import sys

import sqlalchemy

USAGE, PROBLEMS, OK = 2, 1, 0


def _engine(args):
    from delphi_signals.epidata.schema import engine_for
    from delphi_signals.faults.record import ensure_tables

    from .config import DelphiSignals

    engine = engine_for(args.db or DelphiSignals().database_url())
    ensure_tables(engine)
    return engine


def _run(action):
    """Wrap a handler: bad input → 2 with the message, database errors → 1; the engine is always disposed."""
    from delphi_signals.errors import DatabaseError, InputError

    def handler(args) -> int:
        engine = None
        try:
            engine = _engine(args)
            return action(engine, args)
        except InputError as exc:
            print(f"delphi-signals fault {args.fault_command}: {exc}", file=sys.stderr)
            return USAGE
        except (DatabaseError, sqlalchemy.exc.SQLAlchemyError) as exc:
            print(f"delphi-signals fault {args.fault_command}: {exc}", file=sys.stderr)
            return PROBLEMS
        finally:
            if engine is not None:
                engine.dispose()

    return handler


def _add(engine, args) -> int:
    from delphi_signals.faults import add_fault

    scope = {"source": args.source, "signals": args.signal, "geo_type": args.geo_type, "geo_values": args.geo,
             "start": args.start, "end": args.end, "issue_start": args.issue_start, "issue_end": args.issue_end}
    fault_id = add_fault(engine, args.title, args.category, [{k: v for k, v in scope.items() if v is not None}],
                         description=args.description or "", links=args.link or (), reported_by=args.reported_by,
                         status=args.status)
    print(fault_id)
    return OK


def _list(engine, args) -> int:
    from delphi_signals.faults import list_faults

    frame = list_faults(engine, source=args.source, status=args.status)
    if args.json:
        records = json.loads(frame.to_json(orient="records"))
        print(json.dumps(records, indent=1))
        return OK
    if frame.empty:
        print("no faults")
        return OK
    for row in frame.itertuples(index=False):
        print(f"{row.fault_id:>5}  {row.status:<9} {row.category:<17} {row.source}"
              f" {row.signals or '*'} {row.geo_type or '*'}:{row.geo_values or '*'}"
              f" {_day(row.start)}..{_day(row.end)}  {row.title}")
    return OK


def _day(value) -> str:
    """A ``YYYYMMDD`` int as ``YYYY-MM-DD``; ``*`` for an open bound."""
    import pandas as pd

    from delphi_signals.faults.record import iso

    return "*" if value is None or pd.isna(value) else iso(value)


def _show(engine, args) -> int:
    from delphi_signals.faults import get_fault

    record = get_fault(engine, args.id)
    if args.json:
        print(json.dumps(record, indent=1, default=str))
        return OK
    print(f"fault {record['fault_id']}: {record['title']}")
    print(f"  {record['category']}, {record['status']}; reported {_day(record['reported_date'])}"
          f" by {record['reported_by'] or '-'}" + (f"; resolved {_day(record['resolved_date'])}: "
                                                  f"{record['resolution'] or ''}" if record['resolved_date'] else ""))
    if record["description"]:
        print(f"  {record['description']}")
    for scope in record["scopes"]:
        print(f"  scope: {scope['source']} {','.join(scope['signals'] or ['*'])} {scope['geo_type'] or '*'}:"
              f"{','.join(scope['geo_values'] or ['*'])} time {_day(scope['start'])}..{_day(scope['end'])}"
              f" issues {_day(scope['issue_start'])}..{_day(scope['issue_end'])}")
    for link in record["links"]:
        print(f"  link: {link}")
    for change in record["history"]:
        print(f"  {_day(change['changed_date'])} {change['action']} -> {change['status']}"
              f"{' by ' + change['changed_by'] if change['changed_by'] else ''}"
              f"{': ' + change['note'] if change['note'] else ''}")
    return OK


def _status(new_status: str):
    def change(engine, args) -> int:
        from delphi_signals.faults import update_fault

        update_fault(engine, args.id, status=new_status, note=args.note, changed_by=args.by)
        print(f"fault {args.id} {new_status}")
        return OK

    return change


def proposed_line(db_url: str) -> str:
    """The run summary's line on the fault record: how many faults wait for an operator."""
    from delphi_signals.epidata.schema import engine_for
    from delphi_signals.faults.propose import proposed_faults

    engine = engine_for(db_url)
    try:
        count = len(proposed_faults(engine))
    finally:
        engine.dispose()
    return (f"faults: {count} proposed, waiting for an operator (delphi-signals fault list --status proposed; "
            "fault confirm ID or fault dismiss ID --note ...)")


def propose_validation_faults(db_url: str, report, report_path, validation: dict) -> list[int]:
    """``delphi-signals validate --db URL``: record the report's proposed faults; print their ids."""
    from delphi_signals.epidata.schema import engine_for
    from delphi_signals.faults.propose import propose_from_validation

    engine = engine_for(db_url)
    try:
        ids = propose_from_validation(engine, report, report_path, validation)
    finally:
        engine.dispose()
    if ids:
        print(f"proposed fault(s): {', '.join(map(str, ids))}")
    return ids


def add_fault_commands(commands) -> None:
    """Add ``fault`` and its subcommands to the ``delphi-signals`` parser."""
    from delphi_signals.faults import CATEGORIES

    top = commands.add_parser("fault", help="the fault record: known data faults with their scope")
    actions = top.add_subparsers(dest="fault_command", required=True)

    def with_db(cmd):
        cmd.add_argument("--db", default=None, help="database URL (default: [delphi_signals] db_url in luigi.cfg)")
        return cmd

    add = with_db(actions.add_parser("add", help="record a fault; prints its id"))
    add.add_argument("--source", required=True, help="the source (a registered one or one in the database)")
    add.add_argument("--signal", action="append", help="a signal of the source (repeat; default: every signal)")
    add.add_argument("--geo-type", default=None, help="geo level (default: every level)")
    add.add_argument("--geo", action="append", help="a geo value of --geo-type (repeat; default: every region)")
    add.add_argument("--start", required=True, help="first time value affected, YYYY-MM-DD")
    add.add_argument("--end", required=True, help="last time value affected, YYYY-MM-DD")
    add.add_argument("--issue-start", default=None, help="first issue with the fault (default: today)")
    add.add_argument("--issue-end", default=None, help="last issue with the fault (default: open)")
    add.add_argument("--category", required=True, choices=CATEGORIES)
    add.add_argument("--title", required=True)
    add.add_argument("--description", default="")
    add.add_argument("--link", action="append", help="an http(s) URL (repeat)")
    add.add_argument("--reported-by", default=None)
    add.add_argument("--status", default="open", choices=("open", "proposed"))
    add.set_defaults(handler=_run(_add))

    listing = with_db(actions.add_parser("list", help="faults, one line per fault and scope"))
    listing.add_argument("--source", default=None)
    listing.add_argument("--status", default=None, choices=("proposed", "open", "resolved", "dismissed"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_run(_list))

    show = with_db(actions.add_parser("show", help="one fault: scopes, links, history"))
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_run(_show))

    for name, status, what in (("confirm", "open", "confirm a proposed fault (status open)"),
                               ("resolve", "resolved", "resolve a fault (closes its open issue ranges today)"),
                               ("dismiss", "dismissed", "dismiss a fault (not a fault after all)")):
        cmd = with_db(actions.add_parser(name, help=what))
        cmd.add_argument("id")
        cmd.add_argument("--note", required=name != "confirm", default=None, help="how it was resolved, or why")
        cmd.add_argument("--by", default=None, help="who changed it")
        cmd.set_defaults(handler=_run(_status(status)))
