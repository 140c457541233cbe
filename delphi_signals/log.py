"""Structured logs, as upstream's ``get_structured_logger``: one JSON object per line on stderr.

Every event is rendered once as a JSON line (the record's message). Where it is shown depends on who reads:

* stderr not a terminal (cron, Luigi workers, CI, notebooks): the JSON lines from INFO up, for machines;
* stderr a terminal: warnings and errors only, as readable lines (structlog's console renderer), printed
  around the progress bars;
* a log file (:func:`configure` ``log_file=``, the command line's ``--log-file``): every JSON line, DEBUG
  included, for operators to grep.

Events are fixed strings; the facts go in named fields (``source``, ``signal``, ``geo_type``, ``issue``,
``file`` …). Per-file events are DEBUG; each folder or task gets one INFO line carrying its counts.
``LOG_DEBUG=1`` in the environment lowers the console level to DEBUG.

A logger is named after the module that asks for it: ``get_logger(__name__)`` in a package of your own logs
as ``my_package.module``, through the same handlers as this package's loggers.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import structlog
from tqdm.auto import tqdm

PROJECT_LOGGER = "delphi_signals"
_PROJECT_PACKAGES = ("luigi_tasks",)  # this repository's other top-level package logs under delphi_signals
_STATE = {"configured": False, "console": None, "file": None, "quiet": False, "bars": None}
_ATTACHED: set[str] = set()
_EXTRA_FILES: dict = {}  # (top-level logger, path) -> handler of get_logger(filename=...)


class _ConsoleFormatter(logging.Formatter):
    """A JSON event line rendered for a person: ``timestamp [level] event [logger] key=value …``."""

    _render = staticmethod(structlog.dev.ConsoleRenderer(colors=False))

    def format(self, record):
        message = record.getMessage()
        try:
            event = json.loads(message)
        except ValueError:
            return message
        if not isinstance(event, dict):
            return message
        event.pop("process", None)
        return self._render(None, record.levelname.lower(), event)


class TqdmStream:
    """stderr, written through ``tqdm.write`` so a line never lands inside a progress bar."""

    def write(self, text):
        text = text.rstrip("\n")
        if text:
            tqdm.write(text, file=sys.stderr)

    def flush(self):
        sys.stderr.flush()


def _console_handler(level: int) -> logging.Handler:
    if sys.stderr.isatty():
        handler = logging.StreamHandler(TqdmStream())
        handler.setFormatter(_ConsoleFormatter())
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(level)
    return handler


def _default_console_level() -> int:
    if os.environ.get("LOG_DEBUG"):
        return logging.DEBUG
    return logging.WARNING if sys.stderr.isatty() else logging.INFO


def _structlog() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def _handlers() -> list[logging.Handler]:
    return [h for h in (_STATE["console"], _STATE["file"]) if h is not None]


def _attach(top: str) -> None:
    """Give the top-level logger ``top`` this module's handlers (once); its records do not propagate."""
    logger = logging.getLogger(top)
    if top not in _ATTACHED:
        logger.propagate = False
        _ATTACHED.add(top)
    for handler in _handlers():
        if handler not in logger.handlers:
            logger.addHandler(handler)
    levels = [h.level for h in _handlers()] or [logging.INFO]
    if top != PROJECT_LOGGER or not _STATE.get("level_kept"):
        logger.setLevel(min(levels))


def configure(*, console_level: int | str | None = None, log_file: str | None = None, quiet: bool = False,
              progress_bars: bool | None = None) -> None:
    """Set where events go: the console's level, an optional JSON log file (always DEBUG), the progress bars.

    ``console_level`` defaults to WARNING on a terminal and INFO elsewhere; ``quiet`` turns the progress bars
    off and keeps errors only. ``progress_bars``: ``None`` shows them on a terminal only.

    Examples
    --------
    >>> import logging
    >>> configure(console_level="error")
    >>> logging.getLogger("delphi_signals").handlers[0].level == logging.ERROR
    True
    >>> configure()  # back to the defaults
    """
    if isinstance(console_level, str):
        console_level = logging.getLevelName(console_level.upper())
    if quiet:
        console_level = logging.ERROR
    for top in _ATTACHED:
        logger = logging.getLogger(top)
        for handler in _handlers():
            logger.removeHandler(handler)
    if _STATE["file"] is not None:
        _STATE["file"].close()
    _STATE["console"] = _console_handler(console_level if console_level is not None else _default_console_level())
    _STATE["file"] = None
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.setLevel(logging.DEBUG)
        _STATE["file"] = handler
    _STATE["quiet"] = quiet
    _STATE["bars"] = False if quiet else progress_bars
    _STATE["level_kept"] = False
    if not _STATE["configured"]:
        _structlog()
        _STATE["configured"] = True
    for top in {PROJECT_LOGGER, *_ATTACHED}:
        _attach(top)


def _ensure_configured() -> None:
    if not _STATE["configured"]:
        configure()
        # once: a level set later by the user (logging.getLogger("delphi_signals").setLevel) is kept
        _STATE["level_kept"] = True


def logger_name(name: str) -> str:
    """The logger name events of module ``name`` carry: its own, this repository's Luigi layer under ours.

    Examples
    --------
    >>> logger_name("my_indicator.run"), logger_name("luigi_tasks.diff"), logger_name("delphi_signals.geo")
    ('my_indicator.run', 'delphi_signals.luigi_tasks.diff', 'delphi_signals.geo')
    """
    if name.split(".")[0] in _PROJECT_PACKAGES:
        return f"{PROJECT_LOGGER}.{name}"
    return name


def get_logger(name: str = PROJECT_LOGGER, filename: str | None = None, **bound):
    """A structlog logger named ``name`` (see :func:`logger_name`) writing JSON lines (``filename`` too).

    Examples
    --------
    >>> log = get_logger(__name__, source="jhu-csse")
    >>> log._context["source"]  # every line this logger writes carries the bound fields
    'jhu-csse'

    ``log.info("exported files", count=3)`` then writes a line like
    ``{"count": 3, "event": "exported files", "level": "info", "source": "jhu-csse", ...}``.
    """
    _ensure_configured()
    name = logger_name(name)
    top = name.split(".")[0]
    if top not in _ATTACHED:
        _attach(top)
    if filename and (top, str(filename)) not in _EXTRA_FILES:
        handler = logging.FileHandler(filename)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger(top).addHandler(handler)
        _EXTRA_FILES[(top, str(filename))] = handler
    return structlog.get_logger(name).bind(**bound)


def progress(iterable=None, **kwargs):
    """A tqdm progress bar on a terminal (stderr a TTY), and none elsewhere (CI, Luigi workers, logs) or with
    ``--quiet``; the bar is cleared when done (``leave=False``) so a run keeps only its summary.

    Examples
    --------
    >>> sum(progress(range(3), desc="demo"))
    3
    """
    bars = _STATE["bars"]
    kwargs.setdefault("disable", None if bars is None else not bars)
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
