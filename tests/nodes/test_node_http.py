"""The http node against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.http import HttpNode, query_value
from pflow.registry.catalog import HTTP

RunNode = Callable[..., tuple[str, dict[str, Any]]]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to 127.0.0.1 must not be sent through a proxy of the environment."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.lower(), raising=False)


def request(run_node: RunNode, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return run_node(HttpNode, HTTP, params)


def echo_request(req: Request) -> Response:
    """Answer with a JSON description of the request."""
    body = {
        "method": req.method,
        "args": req.args.to_dict(flat=False),
        "body": req.get_data(as_text=True),
        "content_type": req.headers.get("Content-Type"),
        "authorization": req.headers.get("Authorization"),
        "x_custom": req.headers.get("X-Custom"),
        "x_num": req.headers.get("X-Num"),
    }
    return Response(json.dumps(body), content_type="application/json")


def test_get_json(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items", method="GET").respond_with_json({"items": [1, "é"]})
    url = httpserver.url_for("/items")
    action, shared = request(run_node, {"url": url})
    assert action == "default"
    assert shared["response"] == {"items": [1, "é"]}
    assert shared["status_code"] == 200
    assert shared["response_headers"]["content-type"] == "application/json"
    assert all(name == name.lower() for name in shared["response_headers"])
    assert isinstance(shared["response_time"], float)
    assert shared["response_time"] >= 0
    assert "error" not in shared


def test_get_text(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/page").respond_with_data("<p>hi</p>", content_type="text/html")
    action, shared = request(run_node, {"url": httpserver.url_for("/page")})
    assert action == "default"
    assert shared["response"] == "<p>hi</p>"


def test_json_content_type_that_does_not_parse_stays_text(
    run_node: RunNode, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/bad").respond_with_data(
        "{not json", content_type="application/problem+json"
    )
    _, shared = request(run_node, {"url": httpserver.url_for("/bad")})
    assert shared["response"] == "{not json"


def test_not_found(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/missing").respond_with_data("nope", status=404)
    url = httpserver.url_for("/missing")
    action, shared = request(run_node, {"url": url})
    assert action == "error"
    assert shared["error"] == f"HTTP 404 Not Found from GET {url}"
    assert shared["status_code"] == 404
    assert shared["response"] == "nope"


def test_server_error_is_not_retried_and_takes_error(
    run_node: RunNode, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/boom").respond_with_data("x", status=503)
    action, shared = request(run_node, {"url": httpserver.url_for("/boom"), "method": "post"})
    assert action == "error"
    assert shared["error"].startswith("HTTP 503 Service Unavailable from POST ")
    assert len(httpserver.log) == 1


def test_post_json_body_defaults_to_post(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/echo", method="POST", json={"a": 1, "b": ["ü"]}
    ).respond_with_handler(echo_request)
    action, shared = request(
        run_node, {"url": httpserver.url_for("/echo"), "body": {"a": 1, "b": ["ü"]}}
    )
    assert action == "default"
    assert shared["response"]["method"] == "POST"
    assert json.loads(shared["response"]["body"]) == {"a": 1, "b": ["ü"]}
    assert shared["response"]["content_type"] == "application/json"


def test_string_body_is_sent_raw(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/raw", method="PUT").respond_with_handler(echo_request)
    params = {"url": httpserver.url_for("/raw"), "method": "put", "body": "a=1&b=2"}
    _, shared = request(run_node, params)
    assert shared["response"]["method"] == "PUT"
    assert shared["response"]["body"] == "a=1&b=2"


def test_query_params_are_stringified(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search").respond_with_handler(echo_request)
    query = {"q": "a b&c", "n": 5, "flag": True, "tags": ["x", "y"]}
    _, shared = request(run_node, {"url": httpserver.url_for("/search"), "params": query})
    assert shared["response"]["args"] == {
        "q": ["a b&c"],
        "n": ["5"],
        "flag": ["true"],
        "tags": ["x", "y"],
    }


def test_headers_and_auth_token(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/secure", headers={"Authorization": "Bearer s3cret", "X-Custom": "v"}
    ).respond_with_handler(echo_request)
    params = {
        "url": httpserver.url_for("/secure"),
        "headers": {"X-Custom": "v", "X-Num": 3, "authorization": "Basic old"},
        "auth_token": "s3cret",
    }
    action, shared = request(run_node, params)
    assert action == "default"
    assert shared["response"]["authorization"] == "Bearer s3cret"
    assert shared["response"]["x_custom"] == "v"
    assert shared["response"]["x_num"] == "3"


def test_head_request(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/h", method="HEAD").respond_with_data("", headers={"X-Id": "7"})
    action, shared = request(run_node, {"url": httpserver.url_for("/h"), "method": "HEAD"})
    assert action == "default"
    assert shared["response"] == ""
    assert shared["response_headers"]["x-id"] == "7"


def test_redirect_is_followed(run_node: RunNode, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_json({"moved": True})
    action, shared = request(run_node, {"url": httpserver.url_for("/old")})
    assert action == "default"
    assert shared["response"] == {"moved": True}


def test_connection_refused(run_node: RunNode) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    action, shared = request(run_node, {"url": url})
    assert action == "error"
    assert shared["error"].startswith(f"Could not connect to {url}: ")
    assert set(shared) == {"error"}


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A socket that accepts connections (in the kernel) but never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s


def test_timeout_is_retried_then_reported(run_node: RunNode, silent_server: socket.socket) -> None:
    port = silent_server.getsockname()[1]
    url = f"http://127.0.0.1:{port}/slow"
    action, shared = request(run_node, {"url": url, "timeout": 0.3})
    assert action == "error"
    assert shared == {"error": f"Request to {url} timed out after 0.3 seconds"}
    silent_server.settimeout(2)
    attempts = []
    for _ in range(HTTP.max_retries):
        conn, _ = silent_server.accept()
        attempts.append(conn)
    for conn in attempts:
        conn.close()
    assert len(attempts) == 2


@pytest.mark.parametrize("method", ["FETCH", "get me"])
def test_unknown_method_is_a_param_error(run_node: RunNode, method: str) -> None:
    with pytest.raises(NodeParamError, match="unsupported HTTP method"):
        request(run_node, {"url": "http://127.0.0.1/", "method": method})


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/f", "http://", "/relative"])
def test_invalid_url_is_a_param_error(run_node: RunNode, url: str) -> None:
    with pytest.raises(NodeParamError, match="invalid URL") as info:
        request(run_node, {"url": url})
    assert info.value.hint


@pytest.mark.parametrize("timeout", [0, -5])
def test_non_positive_timeout_is_a_param_error(run_node: RunNode, timeout: float) -> None:
    with pytest.raises(NodeParamError, match="timeout"):
        request(run_node, {"url": "http://127.0.0.1/", "timeout": timeout})


def test_missing_url_is_a_param_error(run_node: RunNode) -> None:
    with pytest.raises(NodeParamError, match="url"):
        request(run_node, {})


def test_query_value_helper() -> None:
    assert query_value(None) == ""
    assert query_value({"a": 1}) == '{"a": 1}'
    assert query_value([1, False]) == ["1", "false"]


def test_node_modules_import_no_heavy_libraries() -> None:
    code = (
        "import sys, pflow.nodes.http, pflow.nodes.llm, pflow.nodes.shell, pflow.nodes.echo, "
        "pflow.nodes.file.read, pflow.nodes.file.write, pflow.nodes.file.copy, "
        "pflow.nodes.file.move, pflow.nodes.file.delete; "
        "print(sorted(m for m in ('httpx', 'llm') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
