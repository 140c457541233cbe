"""Real servers for tests: a free loopback port, and ``delphi-signals serve`` started and awaited over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api_server(db_url: str, env: dict | None = None, probe: str = "/epidata/covidcast_meta/",
                     timeout: float = 90.0) -> tuple[subprocess.Popen, str]:
    """Start ``delphi-signals serve --db db_url`` on a free port; ``(process, http://127.0.0.1:PORT)`` once
    ``probe`` answers (any HTTP status counts: with API keys required it answers 401).

    Raises
    ------
    RuntimeError
        The server exited (its stderr's tail in the message) or did not answer within ``timeout`` seconds.
    """
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "delphi_signals", "serve", "--db", db_url, "--port", str(port)],
                            cwd=REPO, env={**os.environ, **(env or {})}, stderr=subprocess.PIPE, text=True)
    root = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read()[-3000:]}")
        try:
            urllib.request.urlopen(f"{root}{probe}", timeout=2).read()
            return proc, root
        except urllib.error.HTTPError:  # it answered
            return proc, root
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not answer within {timeout:.0f} s")


def backend_database(backend: str, tmp_path_factory, name: str):
    """A fresh database of ``backend`` (``"sqlite"`` or ``"mariadb"``): ``(url, drop)``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(name) / 'epidata.sqlite'}", (lambda: None)
    from .databases import mariadb_database

    return mariadb_database()
