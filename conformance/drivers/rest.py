"""REST API v2 driver (httpx): explicit Authorization on every call, every answer a RestAnswer.

Only an unreachable server raises HarnessError; HTTP errors and Milvus error codes are answers
the clauses judge (observed §8).
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.drivers.errors import HarnessError

try:
    import httpx
except ImportError:  # the 'rest' extra is absent: rest_support reports REST clauses n/a
    httpx = None

PREFIX = "/v2/vectordb"
DEFAULT_TIMEOUT = 10.0
NOT_AUTHENTICATED = 1800
# Shipped with the package so an installed suite finds it; fixtures/openapi/ links here.
OPENAPI_DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "milvus-rest-v2.json"
_OWN = object()  # "use the client's own Authorization header"


@dataclass(frozen=True)
class RestAnswer:
    http_status: int
    code: int | None  # the envelope's `code`; None when the body is not a Milvus envelope
    message: str
    data: Any = None
    curl: str = ""  # the request, as a curl command, for reports

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and self.code == 0

    @property
    def unauthenticated(self) -> bool:
        return self.http_status == 401 and self.code == NOT_AUTHENTICATED

    def describe(self) -> str:
        return f"HTTP {self.http_status} code={self.code} {self.message!r}\n  {self.curl}"


def bearer(user: str, password: str) -> str:
    """`Bearer user:password`, plain text (observed §8.1)."""
    return f"Bearer {user}:{password}"


def basic(user: str, password: str) -> str:
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def curl_command(url: str, authorization: str | None, body: bytes) -> str:
    parts = ["curl", "-sS", "-X", "POST", url, "-H", "Content-Type: application/json"]
    if authorization is not None:
        parts += ["-H", f"Authorization: {authorization}"]
    parts += ["-d", body.decode("utf-8", "replace")]
    return shlex.join(parts)


def openapi_document() -> dict[str, Any]:
    """The project's OpenAPI document of REST v2 (fixtures/openapi/milvus-rest-v2.json)."""
    try:
        return json.loads(OPENAPI_DOCUMENT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError) as exc:
        raise HarnessError(f"cannot read the packaged OpenAPI document: {exc}") from exc


class RestClient:
    """One identity against one REST base URL (e.g. http://127.0.0.1:19530)."""

    def __init__(
        self,
        base_url: str,
        authorization: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.authorization = authorization
        self._http = httpx.Client(timeout=timeout)

    @classmethod
    def as_user(cls, base_url: str, user: str, password: str) -> RestClient:
        return cls(base_url, bearer(user, password))

    def close(self) -> None:
        self._http.close()

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        authorization: Any = _OWN,
    ) -> RestAnswer:
        """POST `/v2/vectordb<path>`; `authorization=None` sends no header at all."""
        header = self.authorization if authorization is _OWN else authorization
        content = raw if raw is not None else json.dumps({} if body is None else body).encode()
        url = self.base_url + PREFIX + path
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["Authorization"] = header
        curl = curl_command(url, header, content)
        try:
            response = self._http.post(url, content=content, headers=headers)
        except httpx.TransportError as error:
            raise HarnessError(f"REST endpoint unreachable: {error}\n  {curl}") from error
        try:
            payload = response.json()
        except ValueError:
            return RestAnswer(response.status_code, None, response.text[:500], curl=curl)
        if not isinstance(payload, dict):
            return RestAnswer(response.status_code, None, str(payload)[:500], curl=curl)
        code = payload.get("code")
        return RestAnswer(
            response.status_code,
            code if isinstance(code, int) else None,
            str(payload.get("message", "")),
            payload.get("data"),
            curl,
        )

    # ---- user endpoints -----------------------------------------------------------------------
    def list_users(self) -> RestAnswer:
        return self.post("/users/list", {})

    def describe_user(self, name: str) -> RestAnswer:
        return self.post("/users/describe", {"userName": name})

    def create_user(self, name: str, password: str) -> RestAnswer:
        return self.post("/users/create", {"userName": name, "password": password})

    def update_password(self, name: str, old: str, new: str) -> RestAnswer:
        body = {"userName": name, "password": old, "newPassword": new}
        return self.post("/users/update_password", body)

    def drop_user(self, name: str) -> RestAnswer:
        return self.post("/users/drop", {"userName": name})
