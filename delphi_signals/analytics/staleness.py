"""Sir Complains-a-lot: complain about signals whose data is too old or has recent gaps.

The configuration is upstream's ``params.json`` layout (spec ``epidata.md`` §5)::

    {"grace": 0,
     "sources": {"jhu-csse": {"max_age": 2, "max_gap": 1, "gap_window": 7, "maintainers": ["U01ABC"],
                              "retired-signals": ["old_signal", ["other_signal", "hrr", "msa"]]}}}

``max_age`` is required; ``max_gap`` defaults to 1 (-1 turns the gap check off), ``gap_window`` to 7 days,
``grace`` to 0. A retired signal named alone is skipped at every geo type, a list ``[signal, geo_type, …]``
only at those geo types. Upstream's ``channel``/``slack_token`` keys are accepted and ignored; delivery here
goes to a Slack incoming-webhook URL (:func:`post_to_slack`).

The checks read the database directly, one query per source (no API round trips), for every
(signal, time_type, geo_type) of the source in ``epimetric_latest``:

* age = run date − newest time value with a value, in days; for a weekly signal the newest epiweek counts
  from its Saturday. A complaint when age > ``max_age`` + ``grace``: "is N days old".
* gap: over the distinct time values with a value in the last ``gap_window`` days (weeks are counted from
  their Saturday too), the largest step between consecutive ones minus one, in days (in weeks for weekly
  signals). A complaint when gap > ``max_gap``: "has a G-day gap of missing data in its most recent W days
  of data". Unlike upstream, which fetched 14 days whatever ``gap_window`` said, the window is ``gap_window``.

Complaints are keyed per (source, signal) and kind as upstream's, listing every offending geo type; age
complaints come first, then gap ones, sources in config order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..errors import DatabaseError, DelphiSignalsError, InputError
from ..log import get_logger
from ..timeaxis import format_weeks, parse_weeks

LOG = get_logger(__name__)
SLACK_CHUNK = 49
SOURCE_DEFAULTS = {"max_gap": 1, "gap_window": 7, "maintainers": [], "retired-signals": []}
SOURCE_KEYS = {"max_age", *SOURCE_DEFAULTS}
TOP_KEYS = {"sources", "grace", "channel", "slack_token", "slack_webhook_url", "api_credentials", "log_filename",
            "log_exceptions"}


@dataclasses.dataclass
class Complaint:
    """One complaint: a signal of a source, its offending geo types, and what is wrong."""

    source: str
    signal: str
    geo_types: list
    message: str
    last_updated: str  # YYYY-MM-DD of the newest time value (the Saturday for weekly signals)
    maintainers: list
    kind: str  # "age" or "gap"

    def to_text(self) -> str:
        """The one-line form of upstream's 2020 version.

        Examples
        --------
        >>> Complaint("jhu-csse", "cases", ["county", "state"], "is 5 days old", "2020-06-01", [], "age").to_text()
        'jhu-csse::cases (county, state) is 5 days old; last updated 2020-06-01'
        """
        return f"{self.source}::{self.signal} ({', '.join(self.geo_types)}) {self.message}; " \
               f"last updated {self.last_updated}"


def _int(value, where, field, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"must be an integer >= {minimum}, got {value!r}", file=where, field=field)
    return value


def load_config(path) -> dict:
    """Read and check a Sir Complains-a-lot JSON config; defaults filled in.

    Raises
    ------
    InputError
        Unreadable file or bad JSON (with its line), an unknown key, or a bad value (naming the field).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "params.json")
    >>> _ = open(path, "w").write('{"sources": {"jhu-csse": {"max_age": 2}}}')
    >>> load_config(path)["sources"]["jhu-csse"]
    {'max_age': 2, 'max_gap': 1, 'gap_window': 7, 'maintainers': [], 'retired-signals': []}
    """
    return check_config(read_config(path), Path(path))


def read_config(path) -> dict:
    """The JSON object of a config file, unchecked; :class:`InputError` naming the file (and line)."""
    where = Path(path)
    try:
        return json.loads(where.read_text())
    except OSError as exc:
        raise InputError(f"cannot read the config: {exc.strerror}", file=where) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", file=where, line=exc.lineno) from None


def merged_config(source_defaults: dict, overrides: dict | None = None, where=None) -> dict:
    """A checked config from each source's own limits, with ``overrides`` (a config file's object) over them.

    ``source_defaults`` maps each source to its settings (an indicator's ``staleness`` declaration); the
    overrides' top-level keys replace, and each of their sources' settings update that source's (a source
    only in the overrides is checked too). Every source of ``source_defaults`` is monitored.

    Examples
    --------
    >>> config = merged_config({"a": {"max_age": 2}, "b": {"max_age": 9}}, {"grace": 1, "sources": {"a": {"max_age": 5}}})
    >>> config["grace"], config["sources"]["a"]["max_age"], config["sources"]["b"]["max_age"]
    (1, 5, 9)
    """
    raw = {"grace": 0, "sources": {source: dict(settings) for source, settings in source_defaults.items()}}
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise InputError("the config must be a JSON object", file=where)
    for key, value in overrides.items():
        if key != "sources" or not isinstance(value, dict):
            raw[key] = value
            continue
        for source, settings in value.items():
            mine = raw["sources"].get(source)
            raw["sources"][source] = {**mine, **settings} if isinstance(mine, dict) and isinstance(settings, dict) \
                else settings
    return check_config(raw, where)


def check_config(raw, where=None) -> dict:
    """Check a config given as a dict (see :func:`load_config`)."""
    if not isinstance(raw, dict):
        raise InputError("the config must be a JSON object", file=where)
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(TOP_KEYS))}", file=where)
    sources = raw.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise InputError("'sources' must be a non-empty object of source -> settings", file=where, field="sources")
    config = {"grace": _int(raw.get("grace", 0), where, "grace", 0), "sources": {},
              "slack_webhook_url": raw.get("slack_webhook_url")}
    for source, settings in sources.items():
        field = f"sources.{source}"
        if not isinstance(settings, dict):
            raise InputError("must be an object", file=where, field=field)
        unknown = sorted(set(settings) - SOURCE_KEYS)
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(SOURCE_KEYS))}",
                             file=where, field=field)
        if "max_age" not in settings:
            raise InputError("missing", file=where, field=f"{field}.max_age")
        merged = {"max_age": settings["max_age"], **{k: settings.get(k, v) for k, v in SOURCE_DEFAULTS.items()}}
        _int(merged["max_age"], where, f"{field}.max_age", 0)
        _int(merged["max_gap"], where, f"{field}.max_gap", -1)
        _int(merged["gap_window"], where, f"{field}.gap_window", 1)
        if not isinstance(merged["maintainers"], list) or not all(isinstance(m, str) for m in merged["maintainers"]):
            raise InputError("must be a list of Slack member ids", file=where, field=f"{field}.maintainers")
        for entry in merged["retired-signals"]:
            ok = isinstance(entry, str) or (isinstance(entry, list) and len(entry) >= 2
                                            and all(isinstance(e, str) for e in entry))
            if not ok:
                raise InputError(f"an entry must be a signal name or [signal, geo_type, ...], got {entry!r}",
                                 file=where, field=f"{field}.retired-signals")
        config["sources"][source] = merged
    return config


def _retired(settings: dict) -> tuple[set, set]:
    everywhere = {e for e in settings["retired-signals"] if isinstance(e, str)}
    at_geo = {(e[0], g) for e in settings["retired-signals"] if isinstance(e, list) for g in e[1:]}
    return everywhere, at_geo


_FROM = """
FROM epimetric_latest t JOIN signal_dim s ON s.signal_key_id = t.signal_key_id
JOIN geo_dim g ON g.geo_key_id = t.geo_key_id
WHERE s.source = :source AND t.value IS NOT NULL"""
_NEWEST_SQL = f"SELECT s.signal, t.time_type, g.geo_type, MAX(t.time_value) {_FROM}" \
              " GROUP BY s.signal, t.time_type, g.geo_type"
_RECENT_SQL = f"SELECT DISTINCT s.signal, t.time_type, g.geo_type, t.time_value {_FROM}" \
              " AND ((t.time_type = 'day' AND t.time_value >= :oldest_day)" \
              " OR (t.time_type = 'week' AND t.time_value >= :oldest_week))"


def _last_days(time_values: np.ndarray, time_type: str) -> pd.DatetimeIndex:
    """The day each time value ends on: itself, or the Saturday of an epiweek."""
    if time_type == "day":
        return pd.to_datetime(time_values.astype(str), format="%Y%m%d")
    return parse_weeks(time_values) + pd.Timedelta(days=6)


def _source_rows(conn, source: str, oldest: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (signal, time_type, geo_type): the newest time value, and every time value since ``oldest``."""
    params = {"source": source, "oldest_day": int(oldest.strftime("%Y%m%d")),
              "oldest_week": int(format_weeks(pd.DatetimeIndex([oldest]))[0])}
    newest = pd.DataFrame(conn.execute(sa.text(_NEWEST_SQL), params).fetchall(),
                          columns=["signal", "time_type", "geo_type", "newest"])
    recent = pd.DataFrame(conn.execute(sa.text(_RECENT_SQL), params).fetchall(),
                          columns=["signal", "time_type", "geo_type", "time_value"])
    return newest, recent


def check_source(engine: sa.engine.Engine, source: str, settings: dict, run_date: dt.date, grace: int = 0):
    """The complaints about one source, and the per (signal, time_type, geo_type) facts they come from."""
    everywhere, at_geo = _retired(settings)
    window = settings["gap_window"]
    oldest_window = run_date - dt.timedelta(days=window - 1)
    try:
        with engine.connect() as conn:
            newest, recent = _source_rows(conn, source, oldest_window)
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read {source!r} from the database: {exc}") from None
    ages, gaps, checked = {}, {}, []
    for row in newest.sort_values(["signal", "time_type", "geo_type"]).itertuples(index=False):
        if row.signal in everywhere or (row.signal, row.geo_type) in at_geo:
            continue
        last_day = _last_days(np.array([int(row.newest)]), row.time_type)[0].date()
        age = (run_date - last_day).days
        mine = recent[(recent["signal"] == row.signal) & (recent["time_type"] == row.time_type)
                      & (recent["geo_type"] == row.geo_type)]
        ends = _last_days(mine["time_value"].to_numpy(dtype=np.int64), row.time_type)
        ends = ends[(ends.date >= oldest_window) & (ends.date <= run_date)].sort_values()
        unit = 1 if row.time_type == "day" else 7
        steps = np.diff(ends.to_numpy()).astype("timedelta64[D]").astype(np.int64) // unit
        gap = int(steps.max()) - 1 if len(steps) else 0
        checked.append({"source": source, "signal": row.signal, "time_type": row.time_type,
                        "geo_type": row.geo_type, "newest_time_value": int(row.newest),
                        "age_days": age, "gap": gap, "dates_in_window": [d.strftime("%Y-%m-%d") for d in ends]})
        LOG.debug("Signal lag", source=source, signal=row.signal, geo_type=row.geo_type, current_lag_in_days=age,
                 lag_calculated_from_api=False)
        last_updated = last_day.isoformat()
        if age > settings["max_age"] + grace:
            if row.signal in ages:
                ages[row.signal].geo_types.append(row.geo_type)
            else:
                ages[row.signal] = Complaint(source, row.signal, [row.geo_type], f"is {age} days old", last_updated,
                                             list(settings["maintainers"]), "age")
        if settings["max_gap"] != -1 and gap > settings["max_gap"]:
            if row.signal in gaps:
                gaps[row.signal].geo_types.append(row.geo_type)
            else:
                what = "day" if row.time_type == "day" else "week"
                gaps[row.signal] = Complaint(
                    source, row.signal, [row.geo_type],
                    f"has a {gap}-{what} gap of missing data in its most recent {window} days of data",
                    last_updated, list(settings["maintainers"]), "gap")
    return list(ages.values()) + list(gaps.values()), checked


def check_all(engine: sa.engine.Engine, config: dict, run_date) -> dict:
    """Run every configured source's checks; return the report (JSON-ready dict).

    The report holds ``run_date``, ``complaints`` (age ones first, then gap ones; sources in config order),
    ``checked`` (one entry per signal, time type and geo type looked at) and ``text`` (one line per complaint).
    """
    run_date = pd.Timestamp(run_date).date()
    age_complaints, gap_complaints, checked = [], [], []
    for source, settings in config["sources"].items():
        complaints, facts = check_source(engine, source, settings, run_date, config.get("grace", 0))
        age_complaints += [c for c in complaints if c.kind == "age"]
        gap_complaints += [c for c in complaints if c.kind == "gap"]
        checked += facts
    complaints = age_complaints + gap_complaints
    for c in complaints:
        LOG.critical("Signal out of SLA", message=c.message, data_source=c.source, signal=c.signal,
                     geo_types=c.geo_types, last_updated=c.last_updated)
    return {"run_date": run_date.isoformat(), "complaints": [dataclasses.asdict(c) for c in complaints],
            "checked": checked, "text": report_text(complaints)}


def report_text(complaints) -> str:
    """One line per complaint, or a line saying there is none."""
    complaints = [c if isinstance(c, Complaint) else Complaint(**c) for c in complaints]
    if not complaints:
        return "Sir Complains-a-lot: no complaints.\n"
    return "".join(c.to_text() + "\n" for c in complaints)


def slack_messages(complaints) -> list[list[dict]]:
    """Block Kit messages, at most :data:`SLACK_CHUNK` complaints each, in upstream's layout.

    Examples
    --------
    >>> c = Complaint("jhu-csse", "cases", ["county", "state"], "is 5 days old", "2020-06-01", ["U1"], "age")
    >>> blocks = slack_messages([c])[0]
    >>> blocks[0]["text"]["text"]
    'Hi, this is Sir Complains-a-Lot. I need to speak to <@U1>.'
    >>> print(blocks[2]["text"]["text"])
    *JHU-CSSE* is 5 days old - (last update: 2020-06-01):
    `cases: [county, state]`
    """
    complaints = [c if isinstance(c, Complaint) else Complaint(**c) for c in complaints]
    messages = []
    for start in range(0, len(complaints), SLACK_CHUNK):
        chunk = complaints[start:start + SLACK_CHUNK]
        maintainers = list(dict.fromkeys(m for c in chunk for m in c.maintainers))
        greeting = "Hi, this is Sir Complains-a-Lot. I need to speak to " + \
                   ", ".join(f"<@{m}>" for m in maintainers) + "."
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": greeting}}]
        groups: dict = {}
        for c in chunk:
            groups.setdefault(c.source, {}).setdefault((c.message, c.last_updated), []).append(c)
        for source, by_message in groups.items():
            for (message, last_updated), members in by_message.items():
                lines = "\n".join(f"`{c.signal}: [{', '.join(c.geo_types)}]`" for c in members)
                text = f"*{source.upper()}* {message} - (last update: {last_updated}):\n{lines}"
                blocks += [{"type": "divider"}, {"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        messages.append(blocks)
    return messages


def post_to_slack(webhook_url: str, complaints, *, timeout: float = 30.0) -> int:
    """POST each Block Kit message of :func:`slack_messages` as JSON to a Slack webhook; return how many.

    Raises
    ------
    DelphiSignalsError
        The webhook could not be reached or refused a message (the error names the URL).
    """
    sent = 0
    for blocks in slack_messages(complaints):
        body = json.dumps({"text": "Sir Complains-a-Lot", "blocks": blocks}).encode()
        request = urllib.request.Request(webhook_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise DelphiSignalsError(f"Slack webhook {webhook_url}: delivery failed ({exc})") from None
        sent += 1
    return sent


def run_checks(engine: sa.engine.Engine, config_path, run_date, *, webhook_url: str | None = None,
               source_defaults: dict | None = None, faults: bool = True, report_path=None) -> dict:
    """Load the config, check every source, post the complaints to Slack when a webhook URL is given.

    ``source_defaults`` (source → settings, the indicators' ``staleness`` declarations) come first and the
    file at ``config_path`` (optional then) overrides them (:func:`merged_config`). The webhook is
    ``webhook_url``, else the config's ``slack_webhook_url``; the report's ``slack_messages_sent`` says how
    many messages went out (0 without a webhook or without complaints). With ``faults`` (default), open outage
    faults silence the complaints they cover (listed under ``silenced``) and every other complaint proposes an
    outage fault linked to ``report_path`` (:func:`delphi_signals.faults.propose.silence_and_propose`).
    """
    if source_defaults is None:
        config = load_config(config_path)
    else:
        overrides = read_config(config_path) if config_path else None
        config = merged_config(source_defaults, overrides, Path(config_path) if config_path else None)
    report = check_all(engine, config, run_date)
    if faults:
        from ..faults.propose import silence_and_propose

        silence_and_propose(engine, report, pd.Timestamp(run_date).date().isoformat(), report_path)
    webhook_url = webhook_url or config.get("slack_webhook_url")
    report["slack_messages_sent"] = post_to_slack(webhook_url, report["complaints"]) \
        if webhook_url and report["complaints"] else 0
    return report
