"""A local HTTP server (127.0.0.1, ephemeral port) serving the good and bad files the pull tests need."""

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

GOOD_CSV = b"UID,FIPS,1/22/20,1/23/20\n84001001,1001.0,0,1\n84001003,1003.0,2,3\n"
HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Service unavailable</title></head><body>Try later</body></html>\n"


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status, body, *, length=None, content_type="text/csv"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        hit = self.server.hits[path]
        if path in self.server.bodies:
            self._send(200, self.server.bodies[path])
        elif path == "/good.csv":
            self._send(200, GOOD_CSV)
        elif path == "/error.csv":  # an error page with status 200, as some portals do
            self._send(200, HTML_PAGE, content_type="text/html")
        elif path == "/cut.csv":  # consistent length, but the file itself was cut mid-row
            self._send(200, GOOD_CSV[:-4])
        elif path == "/short.csv":  # promises more bytes than it sends, then hangs up
            self._send(200, GOOD_CSV, length=len(GOOD_CSV) + 500)
            self.close_connection = True
        elif path.startswith("/flaky/"):  # /flaky/<n>/<name>: 500 for the first n requests
            failures = int(path.split("/")[2])
            if hit <= failures:
                self._send(500, b"internal error", content_type="text/plain")
            else:
                self._send(200, GOOD_CSV)
        elif path == "/forbidden.csv":
            self._send(403, b"forbidden", content_type="text/plain")
        elif path == "/data.json":
            self._send(200, b'{"epidata": [{"state": "PA", "date": 20210911}], "result": 1}', content_type="application/json")
        elif path == "/bad.json":
            self._send(200, b'{"epidata": [{"state": "PA", "da', content_type="application/json")
        else:
            self._send(404, b"not found", content_type="text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits = Counter()
        self.bodies = {}
        self.good_csv, self.html_page = GOOD_CSV, HTML_PAGE

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture(scope="session")
def _http_server():
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_server(_http_server):
    """The server, with request counts (``hits``) and extra bodies (``bodies[path] = bytes``) reset per test."""
    _http_server.hits.clear()
    _http_server.bodies.clear()
    return _http_server


try:  # pytest-sftpserver's request threads are not daemons: an open sftp client would keep pytest from exiting
    from pytest_sftpserver.sftp.server import SFTPServer

    SFTPServer.daemon_threads = True
    SFTPServer.block_on_close = False
except ImportError:  # the sftp test skips itself then
    pass
