"""A real ``luigid`` on a free local port, for the scheduler tests."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def luigid(tmp_path):
    port = free_port()
    (tmp_path / "luigid-logs").mkdir()
    luigid_bin = shutil.which("luigid") or str(sys.executable).replace("python", "luigid")
    proc = subprocess.Popen([luigid_bin, "--address", "127.0.0.1", "--port", str(port),
                             "--state-path", str(tmp_path / "luigid.pickle"), "--logdir", str(tmp_path / "luigid-logs")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/static/visualiser/index.html", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("luigid did not answer within 30 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
