"""A tiny HTTP file server on 127.0.0.1 for tests, with misbehaviours switchable per path.

Tests cannot reach the real data servers (or any network), so they serve files with the real
names from here and make the server cut connections, ignore ``Range``, answer 5xx or stall, to
exercise the downloader's resume and retry paths.  The server binds port 0 on the loopback
interface only, runs in a daemon thread, and shuts itself down after ``lifetime`` seconds even
if a test forgets to stop it.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What one path serves, and how it misbehaves.

    ``fail_first`` requests get ``fail_status``; the first ``cut_times`` successful
    requests send the full headers but close after ``cut_after`` body bytes (after stalling
    ``stall`` seconds, to provoke a client timeout); ``ranges=False`` ignores ``Range``.
    Every response carries an ``ETag`` (a digest of the body), and a ``Range`` whose
    ``If-Range`` names another one gets the whole body (RFC 9110). ``changed_after_cut``
    becomes the body once a cut response has gone out: the file was replaced on the server.
    """

    body: bytes
    ranges: bool = True
    fail_first: int = 0
    fail_status: int = 503
    cut_after: int | None = None
    cut_times: int = 1
    stall: float = 0.0
    changed_after_cut: bytes | None = None
    content_type: str = "application/octet-stream"
    served: int = field(default=0, init=False)  # requests answered so far

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Seen:
    """A request as the server saw it."""

    path: str
    range: str | None
    status: int
    if_range: str | None = None


class LocalServer:
    """Serve ``Route``s at ``url(path)``; record every request in ``requests``."""

    def __init__(self, lifetime: float = 60.0):
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a stalled handler must not hold up stop()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._watchdog = threading.Timer(lifetime, self.stop)
        self._watchdog.daemon = True
        self._stopped = False

    # ---- control
    def start(self) -> LocalServer:
        self._thread.start()
        self._watchdog.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._watchdog.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- content
    def serve(self, path: str, body: bytes, **behaviour) -> str:
        """Serve ``body`` at ``path`` with the given Route behaviour; return its URL."""
        self.routes[path] = Route(body, **behaviour)
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def requests_for(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # ---- handler
    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # keep test output quiet
                pass

            def _record(self, status: int) -> None:
                with server._lock:
                    server.requests.append(
                        Seen(self.path, self.headers.get("Range"), status, self.headers["If-Range"])
                    )

            def do_GET(self):
                self.close_connection = True
                route = server.routes.get(self.path)
                if route is None:
                    self._record(404)
                    self.send_error(404, "Not Found")
                    return
                with server._lock:
                    route.served += 1
                    count = route.served
                if count <= route.fail_first:
                    self._record(route.fail_status)
                    self.send_error(route.fail_status)
                    return
                body, total = route.body, len(route.body)
                start, status = 0, 200
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                validator = self.headers.get("If-Range")
                if validator is not None and validator != route.etag:
                    m = None  # the client's partial copy is of another version: send it whole
                if route.ranges and m:
                    start = int(m.group(1))
                    if start >= total:
                        self._record(416)
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{total}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                payload = body[start:]
                self._record(status)
                self.send_response(status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("ETag", route.etag)
                if route.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
                self.end_headers()
                successful = count - route.fail_first
                if route.cut_after is not None and successful <= route.cut_times:
                    self.wfile.write(payload[: route.cut_after])
                    self.wfile.flush()
                    if route.changed_after_cut is not None:
                        route.body = route.changed_after_cut
                    if route.stall:
                        time.sleep(route.stall)
                    return  # close_connection: the client sees a short body
                self.wfile.write(payload)

        return Handler
