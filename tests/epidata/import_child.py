"""Importers run as real child processes by ``test_import_faults`` (through a fork server, so a child starts in
milliseconds with the library already imported and its numba kernels loaded)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import tempfile
from pathlib import Path

import delphi_signals
from delphi_signals.epidata.filecheck import check_file
from delphi_signals.epidata.importer import import_receiving


def _warm() -> None:
    """Load the parser's compiled kernels once, in the fork server, before any child is forked."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "20200301_state_x.csv"
        path.write_text("geo_id,val,se,sample_size,missing_val\nca,1.5,NA,NA,0\n")
        assert check_file(path, "warm", dt.date(2020, 3, 2)).ok


def run_import(data_dir: str, url: str, issue: str, batch_files: int = 50) -> None:
    """The child's whole life: one import run, as the ``import`` command would do it."""
    import_receiving(data_dir, url, issue=issue, batch_files=batch_files)


def context():
    """A fork-server multiprocessing context whose server has this module (and the library) imported."""
    # the fork server is a fresh interpreter: it must find this module and this checkout's library
    wanted = [str(Path(__file__).parent), str(Path(delphi_signals.__file__).parents[1])]
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(wanted + [p for p in paths if p not in wanted])
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["import_child"])
    child = ctx.Process(target=noop)  # starts the fork server now, so later children start in milliseconds
    child.start()
    child.join()
    return ctx


def noop() -> None:
    """A child that does nothing."""


_warm()
