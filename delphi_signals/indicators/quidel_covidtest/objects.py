"""Where quidel's test objects are: an S3 bucket (or a local folder laid out like one), or a local drop.

**Bucket layout** (upstream's): objects keyed ``<prefix>/YYYY_MM_DD/<name>``, the second component being the day
received. The objects taken are those whose key contains ``-sars`` and ends in ``.csv``; other keys are
skipped and counted in the log. ``indicator.base_url`` is ``s3://<bucket>/`` (or upstream's
``indicator.bucket_name``), with ``indicator.aws_credentials`` (``aws_access_key_id``,
``aws_secret_access_key``; blank: boto3's own chain, e.g. ``$AWS_ACCESS_KEY_ID``) and ``indicator.endpoint_url``
for an S3-compatible server. boto3 comes with the ``s3`` extra and is imported only when a bucket is read.

**A local folder** holding dated keys (``<prefix>/YYYY_MM_DD/…-sars….csv`` below it) is read as a bucket; any
other local folder, or a local file, is the drop itself: its ``.csv`` files are received on the issue date.

A missing bucket, refused credentials or an unreachable server stop the pull with
:class:`UnusableObjectError` (exit code 20), naming the bucket; so does an object that is not CSV text or lacks
a column upstream requires, naming its key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ...errors import InputError
from ...log import get_logger
from ...sources.errors import MissingExtraError, SourceVersionError
from ...sources.versions import is_local, local_path
from .. import params as P
from .constants import REQUIRED_COLUMNS, SOURCE

log = get_logger(__name__, source=SOURCE)
_DAY = re.compile(r"^(\d{4})_(\d{1,2})_(\d{1,2})$")
HEAD_BYTES = 65536


class UnusableObjectError(SourceVersionError):
    """The objects of an issue cannot be read: no bucket, credentials refused, no object on or before the issue
    date, or an object that is not CSV or lacks a required column. Names the bucket or the key (exit code 20)."""

    def __init__(self, message: str, *, issue_date, file=None, field=None):
        self.source, self.issue_date = SOURCE, str(issue_date)
        InputError.__init__(self, message, file=file, field=field)


def received_day(key: str) -> dt.date | None:
    """The day received of a bucket key ``<prefix>/YYYY_MM_DD/<name>``; None when its second component is no date.

    Examples
    --------
    >>> received_day("quidel/2020_08_17/Sofia-sars-test.csv")
    datetime.date(2020, 8, 17)
    >>> received_day("quidel/latest/x-sars.csv") is None, received_day("x-sars.csv") is None
    (True, True)
    """
    parts = key.split("/")
    if len(parts) < 3 or not (m := _DAY.match(parts[1])):
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def is_test_object(key: str) -> bool:
    """Upstream's rule: a key containing ``-sars`` and ending in ``.csv``.

    Examples
    --------
    >>> is_test_object("q/2020_08_17/Sofia-sars.csv"), is_test_object("q/2020_08_17/Sofia-flu.csv")
    (True, False)
    """
    return "-sars" in key and key.endswith(".csv")


class LocalStore:
    """A local folder (keys: paths relative to it) or one local file (its key: its name)."""

    def __init__(self, path: Path):
        self.path = path
        self.url = str(path)
        self.name = str(path)

    def keys(self) -> list[str]:
        if self.path.is_file():
            return [self.path.name]
        if not self.path.is_dir():
            raise FileNotFoundError(self.path)
        return sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file())

    def _file(self, key: str) -> Path:
        return self.path if self.path.is_file() else self.path / key

    def read(self, key: str) -> bytes:
        return self._file(key).read_bytes()

    def head(self, key: str, n: int = HEAD_BYTES) -> bytes:
        with open(self._file(key), "rb") as handle:
            return handle.read(n)


class S3Store:
    """An S3 bucket through boto3 (the ``s3`` extra), keys listed page by page."""

    def __init__(self, bucket: str, *, prefix: str = "", credentials: dict | None = None,
                 endpoint_url: str | None = None):
        try:
            import boto3
            import botocore.config
        except ImportError as exc:
            raise MissingExtraError(url=f"s3://{bucket}/", package="boto3", extra="s3") from exc
        credentials = credentials or {}
        options = {k: credentials.get(k) or None for k in ("aws_access_key_id", "aws_secret_access_key")}
        self.bucket, self.prefix, self.name = bucket, prefix, bucket
        self.url = f"s3://{bucket}/{prefix}"
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name="us-east-1",
                                   config=botocore.config.Config(retries={"max_attempts": 3}), **options)
        self._issue_date = None

    def _fail(self, exc, action: str):
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        why = {"NoSuchBucket": "no such bucket", "InvalidAccessKeyId": "credentials refused (unknown access key)",
               "SignatureDoesNotMatch": "credentials refused (wrong secret key)",
               "AccessDenied": "access denied"}.get(code, f"{code}: {exc}")
        raise UnusableObjectError(f"bucket {self.bucket}: cannot {action}: {why}", issue_date=self._issue_date,
                                  file=self.url) from None

    def keys(self) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        keys = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "list objects")
        return sorted(keys)

    def read(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, f"read {key}")

    def head(self, key: str, n: int = HEAD_BYTES) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{n - 1}")["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, f"read {key}")


def open_store(params: dict):
    """The store ``indicator.base_url`` (or ``indicator.bucket_name``) names."""
    indicator = params.get("indicator") or {}
    url = indicator.get("base_url") or (f"s3://{indicator['bucket_name']}/" if indicator.get("bucket_name") else None)
    if not url:
        raise InputError("neither indicator.base_url nor indicator.bucket_name names the test objects",
                         field="base_url")
    url = str(url)
    if is_local(url):
        return LocalStore(local_path(url))
    parts = urlsplit(url)
    if parts.scheme not in ("s3", "s3a"):
        raise InputError(f"quidel reads s3:// buckets or local paths, not {parts.scheme}://", field="base_url")
    store = S3Store(parts.netloc, prefix=parts.path.lstrip("/"), credentials=indicator.get("aws_credentials"),
                    endpoint_url=indicator.get("endpoint_url"))
    store._issue_date = P.issue_date(params)
    return store


@dataclass(frozen=True)
class Plan:
    """The objects an issue takes, by day received (on or before the issue date, from ``pull_start_date``)."""

    store: object
    issue_date: dt.date
    days: dict
    bucket_layout: bool
    skipped: int


def _day(value, default):
    return dt.date.fromisoformat(str(value)) if value else default


def plan(params: dict) -> Plan:
    """List the store and choose the issue's objects (see the module docstring)."""
    day = P.issue_date(params)
    indicator = params.get("indicator") or {}
    store = open_store(params)
    try:
        keys = store.keys()
    except FileNotFoundError:
        raise UnusableObjectError(f"no such file or folder {store.url}", issue_date=day, file=store.url) from None
    dated = {k: received_day(k) for k in keys}
    bucket_layout = isinstance(store, S3Store) or any(d is not None and is_test_object(k) for k, d in dated.items())
    if not bucket_layout:
        drops = [k for k in keys if k.endswith(".csv")]
        log.info("local drop: received on the issue date", url=store.url, objects=len(drops), issue=str(day))
        return Plan(store, day, {day: drops} if drops else {}, False, len(keys) - len(drops))
    start = _day(indicator.get("pull_start_date"), dt.date(2020, 5, 26))
    end = min(day, _day(indicator.get("pull_end_date"), day))
    days: dict = {}
    skipped = 0
    for key, received in dated.items():
        if received is None or not is_test_object(key):
            skipped += 1
        elif start <= received <= end:
            days.setdefault(received, []).append(key)
    if skipped:
        log.info("keys skipped: not <prefix>/YYYY_MM_DD/…-sars….csv", url=store.url, skipped=skipped)
    return Plan(store, day, dict(sorted(days.items())), True, skipped)


def check_header(head: bytes, key: str, issue_date) -> list[str]:
    """The columns of an object's first line; :class:`UnusableObjectError` when it is not CSV text or lacks a
    column upstream requires.

    Examples
    --------
    >>> try:
    ...     check_header(b"SofiaSerNum,TestDate,Zip\\n1,7/18/20,22079\\n", "k", "2020-08-17")
    ... except UnusableObjectError as exc:
    ...     print(exc)
    k, field Facility: lacks required columns Facility, City, State, PatientAge, Result1, Result2, OverallResult, ...
    """
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnusableObjectError("not CSV text (not UTF-8)", issue_date=issue_date, file=key) from None
    if "\x00" in text or not text.strip():
        raise UnusableObjectError("not CSV text (binary or empty)", issue_date=issue_date, file=key)
    columns = [c.strip().strip('"') for c in text.split(",")]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UnusableObjectError(f"lacks required columns {', '.join(missing)}", issue_date=issue_date, file=key,
                                  field=missing[0])
    return columns


__all__ = ["LocalStore", "Plan", "S3Store", "UnusableObjectError", "check_header", "is_test_object", "open_store",
           "plan", "received_day"]
