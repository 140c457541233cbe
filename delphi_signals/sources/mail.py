"""Fetch a source file that arrives as an e-mail attachment, from an mbox file or a Maildir folder.

Some sources deliver by mail (a daily report with a CSV attached). This adapter picks, among the messages
whose subject matches a regular expression and that carry a matching attachment, the newest by its ``Date``
header (a message without a parsable one counts as the oldest; ties go to the later message in the
mailbox), and stores the attachment's decoded bytes in the same dated input cache
as :func:`delphi_signals.sources.fetch`, with the same content check, atomic write and same-day skip.

Log events (logger ``delphi_signals.sources.mail``), each with ``source``, ``url`` (``mbox:<path>#<Message-ID>``
or ``maildir:…``) and ``file``: ``"fetch skipped: cached"``, ``"fetch rejected"`` (plus ``rule``, ``error``,
``rejected_to``), ``"fetched file"`` (plus ``attempt`` = 1, ``bytes``, ``sha256``, ``subject``, ``date``).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import fnmatch
import mailbox
import re
from pathlib import Path

from delphi_signals.log import get_logger
from delphi_signals.sources.cache import (
    DEFAULT_DATA_ROOT,
    REJECTED_DIR,
    FetchResult,
    cache_path,
    sha256_file,
    split_filename,
    store,
)
from delphi_signals.sources.errors import ContentError, FetchError, NoMatchError

log = get_logger(__name__)
_OLDEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def fetch_mail_attachment(
    mailbox_path,
    *,
    source: str,
    subject: str,
    filename: str | None = None,
    data_root=DEFAULT_DATA_ROOT,
    day=None,
    name: str | None = None,
    ext: str | None = None,
    force: bool = False,
    check="auto",
    keep_rejected: bool = True,
) -> FetchResult:
    """Store the attachment of the newest matching message in ``<data_root>/input/<source>/<YYYYMMDD>_<name>.<ext>``.

    Parameters
    ----------
    mailbox_path : path
        An mbox file, or a Maildir folder (with ``cur/``, ``new/``, ``tmp/``).
    source : str
        The source's name: the cache folder.
    subject : str
        Regular expression searched (``re.search``) in the decoded Subject header.
    filename : str, optional
        Shell-style pattern (``fnmatch``, case-insensitive) the attachment's file name must match, e.g.
        ``"*.csv"``. Without it the message must carry exactly one attachment.
    data_root, day, force, check, keep_rejected
        As for :func:`delphi_signals.sources.fetch`.
    name, ext : str, optional
        Cache file name and extension; default from the attachment's file name.

    Returns
    -------
    FetchResult
        ``url`` is ``mbox:<path>#<Message-ID>`` (or ``maildir:``); ``attempts`` is 1, or 0 when skipped.

    Raises
    ------
    FetchError
        The mailbox does not exist; or the chosen message has several matching attachments.
    NoMatchError
        No message matches ``subject``, or none of those carries a matching attachment.
    ContentError
        The attachment fails the content check; nothing is cached.

    Examples
    --------
    With an mbox file at hand (``tests/sources/test_sources_mail.py`` builds some)::

        fetch_mail_attachment("inbox.mbox", source="chng", subject=r"^Daily counts \\d{8}$",
                              filename="*.csv", name="counts", day="2020-11-30")
        # FetchResult(path=PosixPath('var/input/chng/20201130_counts.csv'), ...)
    """
    box_path = Path(mailbox_path)
    kind = "maildir" if box_path.is_dir() else "mbox"
    if name is not None and ext is not None:
        skipped = _skip(cache_path(data_root, source, day, name, ext), f"{kind}:{box_path}", source, force)
        if skipped:
            return skipped
    message, part, when, origin = _newest_attachment(box_path, kind, subject, filename)
    att_name, att_ext = split_filename(part.get_filename())
    target = cache_path(data_root, source, day, att_name if name is None else name, att_ext if ext is None else ext)
    skipped = _skip(target, origin, source, force)
    if skipped:
        return skipped
    payload = part.get_payload(decode=True) or b""
    fields = {"source": source, "url": origin, "file": str(target)}
    try:
        digest, size = store(target, lambda tmp: tmp.write_bytes(payload), url=origin, check=check,
                             keep_rejected=keep_rejected)
    except ContentError as exc:
        rejected = str(target.parent / REJECTED_DIR / target.name) if keep_rejected else None
        log.error("fetch rejected", attempt=1, rule=exc.rule, error=str(exc), rejected_to=rejected, **fields)
        raise
    log.info("fetched file", attempt=1, bytes=size, sha256=digest, subject=str(message["subject"]),
             date=when.isoformat() if when != _OLDEST else None, **fields)
    return FetchResult(target, origin, size, digest, skipped=False, attempts=1)


def _skip(target: Path, origin: str, source: str, force: bool) -> FetchResult | None:
    if force or not target.exists():
        return None
    digest, size = sha256_file(target)
    log.debug("fetch skipped: cached", source=source, url=origin, file=str(target))
    return FetchResult(target, origin, size, digest, skipped=True, attempts=0)


def _open(box_path: Path, kind: str):
    if kind == "maildir":
        if not all((box_path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise FetchError("not a Maildir (needs cur/, new/ and tmp/ folders)", url=str(box_path))
        return mailbox.Maildir(box_path, factory=None, create=False)
    if not box_path.is_file():
        raise FetchError("no such mailbox (expected an mbox file or a Maildir folder)", url=str(box_path))
    return mailbox.mbox(box_path, factory=None, create=False)


def _newest_attachment(box_path: Path, kind: str, subject: str, pattern: str | None):
    """(message, attachment part, date, origin) of the newest message matching subject and pattern."""
    wanted = re.compile(subject)
    box = _open(box_path, kind)
    candidates, subjects_matched = [], 0
    try:
        for order, key in enumerate(box.keys()):
            message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            if not wanted.search(str(message["subject"] or "")):
                continue
            subjects_matched += 1
            parts = [p for p in message.iter_attachments() if p.get_filename()]
            if pattern is not None:
                parts = [p for p in parts if fnmatch.fnmatchcase(p.get_filename().lower(), pattern.lower())]
            if parts:
                candidates.append((_message_date(message), order, message, parts))
    finally:
        box.close()
    if not candidates:
        what = f"attachment matching {pattern!r}" if pattern else "attachment"
        if subjects_matched:
            raise NoMatchError(f"{subjects_matched} message(s) match subject /{subject}/ but none has an {what}",
                               url=f"{kind}:{box_path}")
        raise NoMatchError(f"no message matches subject /{subject}/", url=f"{kind}:{box_path}")
    when, _, message, parts = max(candidates, key=lambda c: (c[0], c[1]))
    origin = f"{kind}:{box_path}#{message['message-id'] or '?'}"
    if len(parts) > 1:
        names = ", ".join(p.get_filename() for p in parts)
        raise FetchError(f"newest matching message has {len(parts)} attachments ({names}); pass filename= to "
                         "choose one", url=origin)
    return message, parts[0], when, origin


def _message_date(message) -> dt.datetime:
    try:
        when = email.utils.parsedate_to_datetime(str(message["date"]))
    except (TypeError, ValueError, IndexError):
        when = None
    if when is None:
        return _OLDEST
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
