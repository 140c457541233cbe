"""What the ``delphi-signals`` subcommands check before they start: argument types argparse enforces (bad
usage, exit 2) and the data root and database they will use (missing or unusable, exit 20).

Examples
--------
>>> positive_int("3")
3
>>> positive_int("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be a whole number of at least 1, got '0'
>>> port_number("99999")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be a port number 1..65535, got '99999'
>>> sqlite_file("sqlite:////srv/epidata.sqlite"), sqlite_file("mysql+pymysql://u@h/db")
(PosixPath('/srv/epidata.sqlite'), None)
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import sqlalchemy as sa

from delphi_signals.errors import DatabaseError, UnusableError
from delphi_signals.preflight import ensure_data_root


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (``--days``, ``--workers``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1..65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 1..65535, got {text!r}")
    return value


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, ``None`` for an in-memory or a server database (or a bad URL)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def configured_data_root(*, create: bool = True, writable: bool = True) -> Path | None:
    """``[delphi_signals] data_root``, checked by :func:`delphi_signals.preflight.ensure_data_root`."""
    from .config import DelphiSignals

    return ensure_data_root(DelphiSignals().root(), create=create, writable=writable)


def usable_database(url: str, *, create: bool = True) -> sa.engine.Engine | None:
    """An engine for ``url`` after one successful connection; ``None`` for a SQLite file that does not exist
    when not ``create``. A bad URL, a folder that cannot hold the SQLite file or a server that refuses the
    connection raises :class:`UnusableError` naming the database."""
    from delphi_signals.epidata.schema import engine_for

    path = sqlite_file(url)
    if path is not None:
        if not path.exists() and not create:
            return None
        if path.is_dir():
            raise UnusableError(f"database {path}: is a folder, not a SQLite file")
        ensure_data_root(path.parent, create=create, writable=create, what="folder of the database")
    try:
        engine = engine_for(url)
    except DatabaseError as exc:
        raise UnusableError(f"database: {exc}") from None
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        shown = engine.url.render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise UnusableError(f"database {shown}: cannot connect ({reason})") from None
    return engine


_LUIGI_BAD_VALUE = re.compile(
    r"(?P<section>[\w-]+)\[args=.*\]: Error when parsing the default value of '(?P<option>\w+)'")


def config_value_problem(exc: BaseException) -> str | None:
    """What is wrong, for the error Luigi raises when a value in its configuration does not parse (a date that
    is no date …); ``None`` for any other error.

    Examples
    --------
    >>> cause = ValueError("time data 'someday' does not match format '%Y-%m-%d'")
    >>> luigi_error = "pipeline[args=(), kwargs={}]: Error when parsing the default value of 'first_date'"
    >>> try:
    ...     raise ValueError(luigi_error) from cause
    ... except ValueError as exc:
    ...     config_value_problem(exc)
    "[pipeline] first_date in the Luigi configuration: time data 'someday' does not match format '%Y-%m-%d'"
    """
    match = _LUIGI_BAD_VALUE.fullmatch(str(exc)) if isinstance(exc, ValueError) else None
    if match is None:
        return None
    return f"[{match['section']}] {match['option']} in the Luigi configuration: {exc.__cause__ or 'does not parse'}"
