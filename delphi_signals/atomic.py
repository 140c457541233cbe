"""Outputs that are complete or absent: atomic file writes and an atomic swap of a folder.

Every stage writes through here (CSV writer, demo source, input cache, Export), so a crash at any instant
leaves the old state or the new one, never half of either.

A file is written to a hidden temporary sibling, flushed and fsync'ed, then renamed over the target
(``os.replace`` is atomic on POSIX). A folder is built in a staging sibling and swapped in with Linux's
``renameat2(RENAME_EXCHANGE)``, which exchanges two paths in one step; the old contents, now in the staging
path, are removed afterwards. Where that call is missing (not Linux, or a file system without it), the swap
falls back to two renames with the previous folder parked at ``.<name>.old`` and :func:`recover_dir` puts
it back if a crash fell between them.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_text(d / "a.txt", "hello")
>>> (d / "a.txt").read_text()
'hello'
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import uuid
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_libc = None


def _libc_function(name: str):
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        except OSError:
            _libc = False
    return getattr(_libc, name, None) if _libc else None


def _renameat2():
    return _libc_function("renameat2")


def sync_filesystem(path) -> None:
    """Flush every written file of the file system that holds ``path`` to disk (Linux ``syncfs``; else ``sync``).

    One call after many non-durable writes (``durable=False``) costs far less than an ``fsync`` per file:
    write a batch of files, call this, then write the record that says the batch is complete.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_bytes(folder / "a.csv", b"x", durable=False)
    >>> sync_filesystem(folder)
    """
    syncfs = _libc_function("syncfs")
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


def temp_sibling(path, tag: str = "tmp") -> Path:
    """A unique hidden name beside ``path`` (same folder, so a rename onto ``path`` is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def replace(tmp, path, *, durable: bool = True) -> None:
    """Rename the finished file ``tmp`` over ``path``; with ``durable``, its bytes reach the disk first."""
    if durable:
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def writing(path, mode: str = "wb", *, durable: bool = True):
    """Open a temporary sibling of ``path`` for writing; on success it is renamed over ``path``.

    On an exception the temporary file is removed and ``path`` is untouched. ``durable=False`` skips the
    fsync: right for files inside a staging folder that :func:`swap_dir` publishes as a whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        with open(tmp, mode) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_bytes(path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""
    with writing(path, "wb", durable=durable) as handle:
        handle.write(data)


def write_text(path, text: str, encoding: str = "utf-8", *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode(encoding), durable=durable)


def staging_dir(final) -> Path:
    """A fresh, empty staging folder beside ``final`` (same file system, so the swap is a rename)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_sibling(final, "staging")
    staging.mkdir()
    return staging


def _parked(final: Path) -> Path:
    return final.with_name(f".{final.name}.old")


def recover_dir(final) -> None:
    """Undo a fallback swap cut short: if ``final`` is missing and its parked copy exists, restore it."""
    final = Path(final)
    parked = _parked(final)
    if parked.exists() and not final.exists():
        os.rename(parked, final)
    elif parked.exists():
        shutil.rmtree(parked, ignore_errors=True)


def swap_dir(staging, final) -> None:
    """Make the complete folder ``staging`` appear at ``final`` in one step; the old ``final`` is removed.

    Readers see the old folder or the new one at every instant (on Linux; see the module notes otherwise).
    """
    staging, final = Path(staging), Path(final)
    recover_dir(final)
    if not final.exists():
        os.rename(staging, final)
        return
    fn = _renameat2()
    if fn is not None:
        if fn(_AT_FDCWD, os.fsencode(staging), _AT_FDCWD, os.fsencode(final), _RENAME_EXCHANGE) == 0:
            shutil.rmtree(staging)  # now holds the old contents
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(final))
    parked = _parked(final)
    os.rename(final, parked)
    os.rename(staging, final)
    shutil.rmtree(parked)


def remove_stale(final) -> int:
    """Remove staging and temporary siblings of ``final`` left by killed writers; return how many.

    Call it only when no other writer of ``final`` runs (a Luigi task owns its target).
    """
    final = Path(final)
    recover_dir(final)
    removed = 0
    if final.parent.exists():
        for sibling in final.parent.glob(f".{final.name}.*-*"):
            shutil.rmtree(sibling, ignore_errors=True) if sibling.is_dir() else sibling.unlink(missing_ok=True)
            removed += 1
    return removed
