"""Structured logs, as upstream's ``get_structured_logger``: one JSON object per line on stderr.

On a terminal the same events are rendered by structlog's console renderer, for a person to read;
anywhere else (cron, Luigi workers, CI, files) they are JSON lines, for machines.

Events are fixed strings; the facts go in named fields (``source``, ``signal``, ``geo_type``, ``issue``,
``file`` …). ``LOG_DEBUG=1`` in the environment lowers the level to DEBUG.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog
from tqdm.auto import tqdm

_CONFIGURED = False


def _renderer():
    if sys.stderr.isatty():
        return structlog.dev.ConsoleRenderer(colors=False)
    return structlog.processors.JSONRenderer(sort_keys=True)


def _configure(filename: str | None = None) -> None:
    global _CONFIGURED
    handlers = [logging.StreamHandler(sys.stderr)]
    if filename:
        handlers.append(logging.FileHandler(filename))
    root = logging.getLogger("delphi_signals")
    if not _CONFIGURED:
        root.handlers.clear()
        root.propagate = False
    for handler in handlers:
        if not _CONFIGURED or isinstance(handler, logging.FileHandler):
            handler.setFormatter(logging.Formatter("%(message)s"))
            root.addHandler(handler)
    if not _CONFIGURED:  # once: a level set later by the user (logging.getLogger("delphi_signals")) is kept
        root.setLevel(logging.DEBUG if os.environ.get("LOG_DEBUG") else logging.INFO)
    if not _CONFIGURED:
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
                _renderer(),
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )
    _CONFIGURED = True


def get_logger(name: str = "delphi_signals", filename: str | None = None, **bound):
    """A structlog logger writing JSON lines to stderr (and ``filename`` if given).

    Examples
    --------
    >>> log = get_logger(__name__, source="jhu-csse")
    >>> log._context["source"]  # every line this logger writes carries the bound fields
    'jhu-csse'

    ``log.info("exported files", count=3)`` then writes a line like
    ``{"count": 3, "event": "exported files", "level": "info", "source": "jhu-csse", ...}``.
    """
    _configure(filename)
    if not name.startswith("delphi_signals"):
        name = f"delphi_signals.{name}"
    return structlog.get_logger(name).bind(**bound)


def progress(iterable, **kwargs):
    """A tqdm progress bar that stays quiet when stderr is not a terminal (CI, Luigi workers, logs)."""
    kwargs.setdefault("disable", None)
    kwargs.setdefault("mininterval", 1.0)
    return tqdm(iterable, **kwargs)
