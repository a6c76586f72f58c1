"""The management HTTP port (Milvus's :9091, observed §8.3): health only, never credentials.

Plain `http.server` on a daemon thread, so start-up stays cheap (no FastAPI). The route table
is `{(METHOD, PATH): handler}`; `Application.decorate_management` may extend it, which only a
seeded deviation does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reference.app import Application

MAX_BODY = 64 * 1024  # a management request never needs more; larger ones get 413
# handler(app, request body) -> (HTTP status, content type, response body)
Reply = tuple[int, str, bytes]
Handler = Callable[["Application", bytes], Reply]
Routes = dict[tuple[str, str], Handler]


def _healthz(app: Application, body: bytes) -> Reply:
    return 200, "text/plain; charset=utf-8", b"OK"


def default_routes() -> Routes:
    # observed §8.3: the fixed port serves health, and MUST NOT serve /api/v1/credential.
    return {("GET", "/healthz"): _healthz}


class ManagementServer:
    def __init__(self, app: Application, host: str, port: int) -> None:
        routes = app.decorate_management(default_routes())
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(app, routes))
        self._httpd.daemon_threads = True
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="management-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()


def _handler_class(app: Application, routes: Routes) -> type[BaseHTTPRequestHandler]:
    class ManagementHandler(BaseHTTPRequestHandler):
        server_version = "milvus-reference-management"

        def _dispatch(self) -> None:
            path = self.path.split("?", 1)[0]
            handler = routes.get((self.command, path))
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._reply(400, "text/plain; charset=utf-8", b"bad Content-Length")
                return
            if length > MAX_BODY:
                self._reply(413, "text/plain; charset=utf-8", b"request body too large")
                return
            body = self.rfile.read(length) if length > 0 else b""
            if handler is None:
                self._reply(404, "text/plain; charset=utf-8", b"404 page not found")
                return
            self._reply(*handler(app, body))

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _dispatch

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # request lines could carry user names; the gRPC side logs nothing either

    return ManagementHandler
