"""Delivery: hand a finished folder of CSVs to the importer, under the pipeline's issue date."""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..log import get_logger

log = get_logger(__name__)


def receiving_folder(receiving_root, source: str, issue_date) -> Path:
    """``<receiving_root>/issue_YYYYMMDD/<source>``: where the importer reads one source's issue.

    Examples
    --------
    >>> receiving_folder("var/receiving", "jhu-csse", "2020-11-30").as_posix()
    'var/receiving/issue_20201130/jhu-csse'
    """
    day = pd.Timestamp(issue_date).date() if not isinstance(issue_date, dt.date) else issue_date
    return Path(receiving_root) / f"issue_{day:%Y%m%d}" / source


def deliver(folder, receiving_root, source: str, issue_date) -> Path:
    """Rename ``folder`` into ``receiving/issue_YYYYMMDD/<source>/`` (one atomic rename) and return the new path.

    The issue is the pipeline's date, never the clock. A folder already waiting there for the same issue is
    never overwritten.

    Raises
    ------
    InputError
        ``folder`` does not exist, or a folder for this source and issue is already waiting.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "diff").mkdir()
    >>> deliver(root / "diff", root / "receiving", "jhu-csse", "2020-11-30").relative_to(root).as_posix()
    'receiving/issue_20201130/jhu-csse'
    """
    folder = Path(folder)
    target = receiving_folder(receiving_root, source, issue_date)
    if not folder.is_dir():
        raise InputError("nothing to deliver: the folder does not exist", file=folder)
    if target.exists():
        raise InputError(f"a delivery is already waiting for this issue; not overwritten (from {folder})",
                         file=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(folder, target)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):  # another delivery won the race
            raise InputError(f"a delivery is already waiting for this issue; not overwritten (from {folder})",
                             file=target) from None
        raise
    log.info("delivered", source=source, issue=str(issue_date), folder=str(target),
             file_count=sum(1 for _ in target.glob("*.csv")))
    return target
