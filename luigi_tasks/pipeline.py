"""The whole pipeline as Luigi wrappers: ``Daily(date)`` runs every configured indicator through pull, export,
validate, diff, deliver and import; ``Nightly(date)`` (in :mod:`.nightly`) runs the analytics;
``RangeDaily`` backfills (``luigi --module luigi_tasks RangeDaily --of Daily --start D1 --stop D2``).

Issues of one source are published in date order: with ``[pipeline] first_date`` set, the diff of day D waits
for the delivery of day D-1 (back to ``first_date``), so the archive cache never runs ahead of what was
published. Every task logs its elapsed time and the peak memory of its own work (the process's high-water
mark is reset when the task starts), and a failed task posts a notice to ``[nightly] slack_webhook_url``.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import time
import urllib.request

import luigi

from delphi_signals.indicators.registry import sources as registered_sources
from delphi_signals.log import get_logger

from .diff import Deliver, OptionalDateParameter
from .epidata import Import
from .measure import peak_memory_mb, reset_peak_memory

LOG = get_logger("delphi_signals.pipeline")


class PipelineConfig(luigi.Config):
    """Section ``[pipeline]``."""

    @classmethod
    def get_task_family(cls):
        return "pipeline"

    sources = luigi.OptionalParameter(default=None, description="comma list of the sources Daily publishes "
                                      "(default: every registered indicator)")
    first_date = OptionalDateParameter(default=None, description="the first issue of a chain of consecutive "
                                       "daily issues (a diff waits for the previous day's delivery back to it)")


def daily_sources() -> list[str]:
    """``[pipeline] sources``, else every registered indicator that can run here (a configured ``base_url`` or
    an offline demo; see :func:`luigi_tasks.indicator.configured_base_url`)."""
    from .indicator import is_configured

    configured = PipelineConfig().sources
    if configured:
        return [s.strip() for s in configured.split(",") if s.strip()]
    return [s for s in registered_sources() if is_configured(s)]


def unconfigured_sources() -> list[str]:
    """The registered indicators that can run nowhere here (no ``base_url``, no demo): the default run skips
    them and says so."""
    from .indicator import is_configured

    return [s for s in registered_sources() if not is_configured(s)]


def previous_issue(date: dt.date) -> dt.date | None:
    """The issue whose delivery must come before ``date``'s diff, or ``None`` (the chain starts here)."""
    first = PipelineConfig().first_date
    before = date - dt.timedelta(days=1)
    return before if first is not None and before >= first else None


class Publish(Import):
    """Import the day's delivery of one source, after pull → export → validate → diff → deliver."""

    def requires(self):
        return Deliver(source=self.source, date=self.date, previous=previous_issue(self.date))


class Daily(luigi.WrapperTask):
    """One issue date of every configured source, published and imported."""

    date = luigi.DateParameter(description="issue date")

    def requires(self):
        return [Publish(source=source, date=self.date) for source in daily_sources()]


# --- what the scheduler it replaces did for every job: time, memory, a notice on failure -----------------------

_STARTED: dict[str, float] = {}


@luigi.Task.event_handler(luigi.Event.START)
def _task_started(task) -> None:
    reset_peak_memory()
    _STARTED[task.task_id] = time.perf_counter()


@luigi.Task.event_handler(luigi.Event.SUCCESS)
def _task_succeeded(task) -> None:
    started = _STARTED.pop(task.task_id, None)
    LOG.info("task finished", task=task.task_id, status="done", peak_memory_mb=peak_memory_mb(),
             elapsed_seconds=None if started is None else round(time.perf_counter() - started, 3))


@luigi.Task.event_handler(luigi.Event.FAILURE)
def _task_failed(task, exception) -> None:
    started = _STARTED.pop(task.task_id, None)
    LOG.error("task failed", task=task.task_id, error=f"{type(exception).__name__}: {exception}"[:2000],
              rerun=rerun_command(task),
              peak_memory_mb=peak_memory_mb(),
              elapsed_seconds=None if started is None else round(time.perf_counter() - started, 3))
    from .nightly import NightlyConfig

    url = NightlyConfig().slack_webhook_url
    if url:
        notify_failure(url, task, exception)


def rerun_command(task: luigi.Task) -> str:
    """The shell command that runs ``task`` again (and whatever it needs that is not done yet).

    Examples
    --------
    >>> import datetime as dt
    >>> from luigi_tasks import Export
    >>> rerun_command(Export(source="hhs", date=dt.date(2020, 11, 30)))
    'luigi --module luigi_tasks Export --source hhs --date 2020-11-30'
    """
    words = ["luigi", "--module", "luigi_tasks", task.task_family]
    for name, value in task.to_str_params(only_significant=True).items():
        if value not in ("", None):
            words += [f"--{name.replace('_', '-')}", shlex.quote(value)]
    return " ".join(words)


def failure_notice(task: luigi.Task, exception: BaseException) -> dict:
    """The webhook body about a failed task: the task, the error and the command that reruns it (Slack's
    ``text`` and ``blocks``; the same facts as fields ``task``, ``error``, ``rerun``)."""
    error = f"{type(exception).__name__}: {exception}"[:2000]
    rerun = rerun_command(task)
    text = f":rotating_light: {task.task_id} failed: {error}\nrerun: `{rerun}`"[:2900]
    return {"text": text, "task": task.task_id, "error": error, "rerun": rerun,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def notify_failure(webhook_url: str, task: luigi.Task, exception: BaseException, *, timeout: float = 10.0) -> bool:
    """Post :func:`failure_notice` to the webhook; ``False`` (and a log line) if it cannot be reached."""
    body = json.dumps(failure_notice(task, exception))
    request = urllib.request.Request(webhook_url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except OSError as exc:
        LOG.warning("failure notice not delivered", task=task.task_id, error=str(exc))
        return False
