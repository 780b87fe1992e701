"""HTTP node: send one request with httpx and capture the response."""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pflow.foundation.exceptions import NodeExecutionError, PflowError
from pflow.foundation.json_safe import loads_json
from pflow.nodes.base import PflowNode, json_text

logger = logging.getLogger(__name__)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class HttpResult:
    """A response that arrived, or (`failure` set) why none did."""

    response: Any = None
    status_code: int = 0
    reason: str = ""
    headers: dict[str, str] | None = None
    elapsed: float = 0.0
    failure: str | None = None


class TransportFailure(Exception):
    """No response arrived (connection refused, DNS failure, timeout...): worth a retry."""


def send_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    params: dict[str, Any],
    body: Any,
    timeout: float,
) -> HttpResult:
    """Send the request; raise TransportFailure with a one-line reason when no response arrives."""
    import httpx

    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if isinstance(body, str | bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    start = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            response = client.request(method, url, **kwargs)
        elapsed = time.perf_counter() - start
    except httpx.TimeoutException as exc:
        raise TransportFailure(f"Request to {url} timed out after {timeout:g} seconds") from exc
    except httpx.ConnectError as exc:
        raise TransportFailure(f"Could not connect to {url}: {_reason(exc)}") from exc
    except httpx.RequestError as exc:
        raise TransportFailure(f"Request to {url} failed: {_reason(exc)}") from exc
    return HttpResult(
        response=_body(response.text, response.headers.get("content-type", "")),
        status_code=response.status_code,
        reason=_phrase(response.status_code, response.reason_phrase),
        headers={name.lower(): value for name, value in response.headers.items()},
        elapsed=elapsed,
    )


def _phrase(status: int, sent: str) -> str:
    """The standard reason phrase of `status` ("Not Found"), else the one the server sent."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return sent


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _body(text: str, content_type: str) -> Any:
    """Parsed JSON when the server says it sent JSON and it parses, else the text."""
    if "json" in content_type.lower() and text.strip():
        try:
            return loads_json(text)
        except ValueError:
            pass
    return text


def query_value(value: Any) -> str | list[str]:
    """A query-string value for a JSON value; an array repeats the key once per item."""
    if isinstance(value, list):
        return [json_text(item) for item in value]
    return json_text(value)


class HttpNode(PflowNode):
    """Request `url`; non-2xx/3xx statuses and unreachable servers take the error action."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        url = self._url()
        body = self.param("body")
        return {
            "method": self._method(body),
            "url": url,
            "headers": self._headers(),
            "params": {k: query_value(v) for k, v in (self.param("params") or {}).items()},
            "body": body,
            "timeout": self.seconds_param(),
        }

    def exec(self, prep_res: dict[str, Any]) -> HttpResult:
        logger.debug("%s %s", prep_res["method"], prep_res["url"])
        return send_request(
            prep_res["method"],
            prep_res["url"],
            headers=prep_res["headers"],
            params=prep_res["params"],
            body=prep_res["body"],
            timeout=prep_res["timeout"],
        )

    def exec_fallback(self, prep_res: dict[str, Any], exc: Exception) -> HttpResult:
        if isinstance(exc, TransportFailure):
            return HttpResult(failure=str(exc))
        if isinstance(exc, PflowError):
            raise exc
        raise NodeExecutionError(
            f"Node '{self.node_id}' (http): {prep_res['method']} {prep_res['url']} failed: "
            f"{type(exc).__name__}: {exc}",
            hint="Check the node's url, headers and body",
            node_id=self.node_id,
            node_type=self.spec.name,
        ) from exc

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: HttpResult
    ) -> str:
        if exec_res.failure is not None:
            self.write(shared, error=exec_res.failure)
            return "error"
        self.write(
            shared,
            response=exec_res.response,
            status_code=exec_res.status_code,
            response_headers=exec_res.headers or {},
            response_time=exec_res.elapsed,
        )
        if 200 <= exec_res.status_code < 400:
            return "default"
        status = f"{exec_res.status_code} {exec_res.reason}".rstrip()
        self.write(shared, error=f"HTTP {status} from {prep_res['method']} {prep_res['url']}")
        return "error"

    def _url(self) -> str:
        import httpx

        url: str = self.param("url")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise self.fail(f"invalid URL {url!r}: {exc}", hint=_URL_HINT) from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise self.fail(f"invalid URL {url!r}: not an http(s) URL with a host", hint=_URL_HINT)
        return url

    def _method(self, body: Any) -> str:
        raw: str | None = self.param("method")
        method = raw.strip().upper() if raw else ("POST" if body is not None else "GET")
        if method not in METHODS:
            raise self.fail(
                f"unsupported HTTP method {raw!r}", hint=f"Use one of {', '.join(METHODS)}"
            )
        return method

    def _headers(self) -> dict[str, str]:
        given: dict[str, Any] = self.param("headers") or {}
        headers = {name: json_text(value) for name, value in given.items()}
        token: str | None = self.param("auth_token")
        if token:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = f"Bearer {token}"
        return headers


_URL_HINT = "Give a full URL such as https://api.example.com/items"
