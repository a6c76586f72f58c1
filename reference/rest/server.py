"""The REST v2 HTTP server: a FastAPI app over the gRPC server's Application, run by uvicorn
on a thread of the same process (one store, one Authenticator and credential cache)."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reference.domain.errors import PermissionDenied, StatusError
from reference.rest import body, collections, entities, users
from reference.rest.auth import authenticate
from reference.rest.envelope import RestError, from_status, permission_denied, success
from reference.rest.openapi import build_document
from reference.rest.spec import ENDPOINTS, Endpoint

if TYPE_CHECKING:
    from reference.app import Application

_log = logging.getLogger(__name__)
Handler = Callable[["Application", Any, dict[str, Any]], Any]
HANDLERS: dict[str, Handler] = {**users.HANDLERS, **collections.HANDLERS, **entities.HANDLERS}
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _go_strings(value: Any) -> Any:
    """JSON may carry lone surrogates (`"\\ud800"`); Go's decoder turns them into U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_go_strings(v) for v in value]
    if isinstance(value, dict):
        return {_go_strings(k): _go_strings(v) for k, v in value.items()}
    return value


def _serve(app: Application, endpoint: Endpoint, header: str | None, raw: bytes) -> Any:
    """Authenticate, parse, check and run one request (on a worker thread: hashing is slow)."""
    caller = authenticate(app.authenticator, header)  # before the body, as Milvus's middleware
    request = body.parse(raw)
    if b"\\u" in raw:
        request = _go_strings(request)
    body.check(request, endpoint.request_schema)
    handler = HANDLERS[endpoint.path]
    try:
        return success(handler(app, caller, request))
    except StatusError as error:
        raise from_status(error) from None
    except PermissionDenied as error:
        raise permission_denied(error.message) from None


Serve = Callable[["Application", Endpoint, "str | None", bytes], Any]


def _route(app: Application, endpoint: Endpoint, serve: Serve) -> Callable[[Request], Any]:
    async def handle(request: Request) -> JSONResponse:
        raw = await request.body()
        header = request.headers.get("authorization")
        try:
            answer = await run_in_threadpool(serve, app, endpoint, header, raw)
        except RestError as error:
            return JSONResponse(error.body(), status_code=error.http_status)
        return JSONResponse(answer)

    handle.__name__ = endpoint.operation_id
    return handle


def build_app(app: Application) -> FastAPI:
    """The ASGI app. FastAPI's own schema is off: /openapi.json serves our document."""
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    document = build_document()
    serve: Serve = app.decorate_rest(_serve)  # the identity unless a seeded deviation is on

    async def openapi() -> JSONResponse:
        return JSONResponse(document)

    api.add_api_route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)
    for endpoint in ENDPOINTS:
        api.add_api_route(
            endpoint.url, _route(app, endpoint, serve), methods=["POST"], include_in_schema=False
        )

    @api.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # Never a plaintext secret in logs: only the path and the exception type.
        _log.error("internal error on %s: %s", request.url.path, type(error).__name__)
        return JSONResponse({"code": 65535, "message": "internal error"}, status_code=500)

    return api


class RestServer:
    """uvicorn on a daemon thread; `start` returns once the port accepts connections."""

    def __init__(self, app: Application, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            build_app(app), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="rest", daemon=True
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError(f"REST server did not start on {self.url}")
            time.sleep(0.01)

    def stop(self, timeout: float = 1.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()
