"""A real HTTP server on 127.0.0.1 for the indicators' API pulls (SODA paging, Epidata chunks, commits API)."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest


class LocalServer:
    """Answers every GET with ``answer(path, query, headers) -> (status, body bytes)``; keeps a request log."""

    def __init__(self, answer):
        self.answer, self.requests = answer, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                server.requests.append({"path": parts.path, "query": query, "headers": dict(self.headers),
                                        "raw": self.path})
                status, body = server.answer(parts.path, query, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    """``local_server(answer)`` starts a server (stopped after the test) and returns it (``.url``, ``.requests``)."""
    servers = []

    def start(answer):
        servers.append(LocalServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def log_records():
    """The JSON log records the library writes during the test (``delphi_signals`` loggers), as dicts."""
    from delphi_signals.log import get_logger

    get_logger("delphi_signals")  # configure first, so the handler is not cleared by it
    collector = _Collect()
    root = logging.getLogger("delphi_signals")
    root.addHandler(collector)
    yield collector.lines
    root.removeHandler(collector)
