"""The exception family of delphi-signals.

Every error a user can meet names where it happened (file, line, field) and which rule was broken, so
an operator can act on the message alone.
"""

from __future__ import annotations


class DelphiSignalsError(Exception):
    """Base class of every error raised on purpose by delphi-signals."""


class InputError(DelphiSignalsError, ValueError):
    """Bad input data: a malformed file, row, field or value.

    Parameters
    ----------
    message : str
        What rule was broken.
    file, line, field : optional
        Where: the file's path, the 1-based line number in it and the column name.

    Examples
    --------
    >>> str(InputError("not a number", file="a.csv", line=3, field="val"))
    'a.csv, line 3, field val: not a number'
    """

    def __init__(self, message: str, *, file=None, line=None, field=None):
        self.file, self.line, self.field, self.reason = file, line, field, message
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnknownNameError(InputError):
    """A source, signal, geo type or other name this system does not know; the message lists the known ones.

    Examples
    --------
    >>> str(UnknownNameError("source", "jhu", ["hhs", "jhu-csse"]))
    "unknown source 'jhu'; known: hhs, jhu-csse"
    """

    def __init__(self, what: str, name, known):
        self.what, self.name, self.known = what, name, list(known)
        super().__init__(f"unknown {what} {name!r}; known: {', '.join(map(str, self.known)) or '(none)'}")


class NoRowsError(InputError):
    """A database query that is well formed but matches no stored row (``Epidata.fetch``)."""


class CubeContractError(DelphiSignalsError, ValueError):
    """A Dataset that breaks the signal-cube contract (see ``delphi_signals.cube``)."""


class ValidationError(DelphiSignalsError):
    """Exported output failed a blocking validator check."""


class DatabaseError(DelphiSignalsError):
    """A database load or query could not be completed; nothing was half-written."""


class UsageError(DelphiSignalsError, ValueError):
    """A command given arguments it cannot use (exit code 2)."""


class ConfigFileError(UsageError):
    """A configuration file that cannot be parsed; the message names the file and line (exit code 2)."""


class UnusableError(DelphiSignalsError):
    """An input, data root, database or port that is missing or cannot be used; the message names it and says
    what is wrong (exit code 20)."""
