"""Checks a command makes before it starts work: its configuration files, its data root, its port.

Each check turns a condition a user can fix into one message naming the path or port and what is wrong,
instead of a traceback from deep inside the work: :class:`~delphi_signals.errors.ConfigFileError` for a
malformed configuration file (bad usage), :class:`~delphi_signals.errors.UnusableError` for a data root or
port that cannot be used.

Examples
--------
>>> import tempfile
>>> root = Path(tempfile.mkdtemp()) / "a" / "b" / "var"
>>> ensure_data_root(root) == root and root.is_dir()   # created with its missing parents
True
>>> ensure_data_root(root / "x.txt", create=False) is None  # absent, and not to be created: nothing ran yet
True
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import errno
import os
import socket
from pathlib import Path

from .errors import ConfigFileError, UnusableError

LUIGI_CONFIG_FILES = ("/etc/luigi/client.cfg", "/etc/luigi/luigi.cfg", "client.cfg", "luigi.cfg")
"""Where Luigi looks for its configuration (in this order), before ``$LUIGI_CONFIG_PATH``."""


def luigi_config_files() -> list[Path]:
    """The configuration files Luigi will read, as it finds them: its fixed list, then ``$LUIGI_CONFIG_PATH``."""
    candidates = list(LUIGI_CONFIG_FILES)
    if os.environ.get("LUIGI_CONFIG_PATH"):
        candidates.append(os.environ["LUIGI_CONFIG_PATH"])
    return [Path(p) for p in candidates if Path(p).is_file()]


def check_config_file(path) -> None:
    """Parse one INI configuration file as Luigi will; a malformed one raises :class:`ConfigFileError`
    naming the file and line.

    Examples
    --------
    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "luigi.cfg"
    >>> _ = bad.write_text("[core]\\nlog_level = INFO\\n[delphi_signals\\ndata_root = var\\n")
    >>> check_config_file(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    delphi_signals.errors.ConfigFileError: ...luigi.cfg, line 3: not a section header, option or comment: ...
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # as Luigi's parser: option names keep their case
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot read the configuration file: {exc}") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigFileError(f"{path}, line {exc.lineno}: a section header ([name]) must come first, got "
                              f"{exc.line.strip()!r}") from None
    except configparser.ParsingError as exc:
        lineno, line = exc.errors[0]  # the line as repr() shows it
        with contextlib.suppress(ValueError, SyntaxError):
            line = ast.literal_eval(line)
        raise ConfigFileError(f"{path}, line {lineno}: not a section header, option or comment: "
                              f"{line.strip()!r}") from None
    except (configparser.DuplicateSectionError, configparser.DuplicateOptionError) as exc:
        raise ConfigFileError(f"{path}, line {exc.lineno}: {exc.message.split(': ', 1)[-1]}") from None
    except configparser.Error as exc:
        raise ConfigFileError(f"{path}: {exc.message}") from None


def check_luigi_config() -> None:
    """:func:`check_config_file` on every file Luigi would read (INI files; TOML is Luigi's to parse)."""
    if os.environ.get("LUIGI_CONFIG_PARSER", "cfg") != "cfg":
        return
    for path in luigi_config_files():
        check_config_file(path)


def ensure_data_root(path, *, create: bool = True, writable: bool = True, what: str = "data root") -> Path | None:
    """The data root ``path``, usable: created with its missing parents when ``create``, else ``None`` if absent.

    Raises :class:`UnusableError` (its message starting with ``what`` and the path) when ``path`` or a parent
    is a file, when it cannot be created, or when ``writable`` and this process may not write in it.
    """
    path = Path(path)
    for part in [path, *path.parents]:
        if part.exists() and not part.is_dir():
            where = "is a file" if part == path else f"its parent {part} is a file"
            raise UnusableError(f"{what} {path}: {where}, not a folder")
        if part.exists():
            break
    if not path.exists():
        if not create:
            return None
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UnusableError(f"{what} {path}: cannot be created ({exc.strerror})") from None
    if writable and not os.access(path, os.W_OK | os.X_OK):
        raise UnusableError(f"{what} {path}: not writable by this user (read-only file system or permissions)")
    if writable:
        probe = path / f".write-check-{os.getpid()}"
        try:
            probe.touch()
            probe.unlink()
        except OSError as exc:  # e.g. a read-only mount the permission bits do not show
            raise UnusableError(f"{what} {path}: not writable ({exc.strerror})") from None
    return path


def check_port(host: str, port: int) -> None:
    """Raise :class:`UnusableError` unless a server can listen on ``host:port`` now (in use, or not an address
    of this machine)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise UnusableError(f"host {host!r}: not a name or address this machine can resolve ({exc.strerror})") from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closed server's port is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise UnusableError(f"port {port} on {host}: {why}") from None
