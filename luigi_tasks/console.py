"""What a person sees of a run: the command line's global options ``--verbose``, ``--quiet``, ``--log-file``.

=============  ===========================================================================================
mode           on the terminal (stderr)
=============  ===========================================================================================
default        progress bars (stderr a TTY), our warnings and errors as readable lines (a failed task: its
               error and the command that reruns it), Luigi's execution summary when a build fails;
               when stderr is not a TTY our events as JSON lines from INFO up
``--verbose``  our DEBUG events too, and Luigi's own lines (scheduling, workers, tracebacks, the summary)
``--quiet``    errors only, no progress bars: the command's summary and what went wrong
=============  ===========================================================================================

``--log-file PATH`` adds every event as a JSON line at DEBUG to ``PATH`` (whatever the mode), Luigi's lines
from INFO up as JSON too. Luigi's own logging setup is skipped: its loggers (``luigi``, ``luigi-interface``)
get the handlers configured here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys

from delphi_signals import log

LUIGI_LOGGERS = ("luigi", "luigi-interface")


class _LuigiJson(logging.Formatter):
    """A Luigi log record as one of our JSON lines (``logger``, ``level``, ``event``, ``timestamp``)."""

    def format(self, record):
        event = {"event": record.getMessage(), "level": record.levelname.lower(), "logger": record.name,
                 "timestamp": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat()}
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, sort_keys=True)


def _luigi_handlers(*, verbose: bool, quiet: bool, log_file: str | None) -> list[logging.Handler]:
    console = logging.StreamHandler(log.TqdmStream() if sys.stderr.isatty() else sys.stderr)
    console.setFormatter(logging.Formatter("luigi %(levelname)s: %(message)s"))
    # Luigi's errors are a failed task's traceback: our own "task failed" line (error and rerun command) and the
    # execution summary say it shorter; --verbose and the log file keep them
    console.setLevel(logging.INFO if verbose else logging.CRITICAL)
    handlers = [console]
    if log_file:
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setFormatter(_LuigiJson())
        to_file.setLevel(logging.INFO)
        handlers.append(to_file)
    return handlers


def configure(*, verbose: bool = False, quiet: bool = False, log_file: str | None = None) -> None:
    """Set up our logs (:func:`delphi_signals.log.configure`) and Luigi's for one command.

    Examples
    --------
    >>> configure(quiet=True)
    >>> logging.getLogger("luigi-interface").handlers[0].level == logging.CRITICAL
    True
    """
    from luigi.setup_logging import InterfaceLogging

    if verbose and quiet:
        raise ValueError("--verbose and --quiet exclude each other")
    log.configure(console_level=logging.DEBUG if verbose else None, quiet=quiet, log_file=log_file)
    InterfaceLogging._configured = True  # Luigi's setup would add its own stderr handler at DEBUG
    handlers = _luigi_handlers(verbose=verbose, quiet=quiet, log_file=log_file)
    for name in LUIGI_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close() if isinstance(handler, logging.FileHandler) else None
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(min(h.level for h in handlers))
        logger.propagate = False


class TaskProgress:
    """A progress bar over the Luigi tasks that finish while it is open (one per ``build``): ``desc`` and the
    task family that finished last. Shown only where :func:`delphi_signals.log.progress` shows bars."""

    _current: "TaskProgress | None" = None
    _registered = False

    def __init__(self, desc: str):
        self.desc = desc
        self.bar = None
        self.owner = os.getpid()

    @classmethod
    def _register(cls) -> None:
        import luigi

        if cls._registered:
            return

        @luigi.Task.event_handler(luigi.Event.SUCCESS)
        def _done(task):
            cls._advance(task)

        @luigi.Task.event_handler(luigi.Event.FAILURE)
        def _failed(task, exception):
            cls._advance(task)

        cls._registered = True

    @classmethod
    def _advance(cls, task) -> None:
        current = cls._current
        # with --workers above 1 a task runs (and fires its events) in a forked child: the bar is the parent's
        if current is not None and current.bar is not None and current.owner == os.getpid():
            current.bar.set_postfix_str(task.task_family, refresh=False)
            current.bar.update(1)

    def __enter__(self):
        self._register()
        self.bar = log.progress(desc=self.desc, unit=" tasks")
        TaskProgress._current = self
        return self

    def __exit__(self, *exc):
        TaskProgress._current = None
        self.bar.close()
        return False
