"""A small HTTP server on 127.0.0.1 with fixed routes, for golden cases of the http node."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Handler(BaseHTTPRequestHandler):
    server_version = "golden"
    sys_version = ""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/json":
            self._send(200, "application/json", {"name": "pflow", "items": [1, 2, 3]})
        elif url.path == "/text":
            self._send(200, "text/plain; charset=utf-8", "plain text body\n")
        elif url.path == "/query":
            self._send(200, "application/json", {k: v for k, v in parse_qs(url.query).items()})
        elif url.path == "/headers":
            wanted = {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-")}
            wanted["authorization"] = self.headers.get("Authorization", "")
            self._send(200, "application/json", wanted)
        else:
            self._send(404, "application/json", {"error": "not found", "path": url.path})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        if urlsplit(self.path).path == "/v1/chat/completions":
            self._send(200, "application/json", _chat_completion(json.loads(body)))
            return
        try:
            parsed: object = json.loads(body)
        except ValueError:
            parsed = body
        self._send(201, "application/json", {"received": parsed})

    def _send(self, status: int, content_type: str, body: object) -> None:
        data = (body if isinstance(body, str) else json.dumps(body, sort_keys=True)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return "Thu, 01 Jan 2026 00:00:00 GMT"  # fixed, so response headers are stable

    def log_message(self, format: str, *args: object) -> None:
        return


def _chat_completion(request: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-style chat completion whose answer and token counts follow from the request.

    Lets golden cases run the llm node against a priced model name offline: the answer
    repeats the last message upper-cased; input tokens are the words of every message,
    output tokens the words of the answer.
    """
    messages = request.get("messages") or []
    words = sum(len(str(m.get("content", "")).split()) for m in messages)
    answer = str(messages[-1].get("content", "")).upper() if messages else ""
    output = len(answer.split())
    return {
        "id": "chatcmpl-golden",
        "object": "chat.completion",
        "created": 1767225600,
        "model": request.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": words,
            "completion_tokens": output,
            "total_tokens": words + output,
        },
    }


class GoldenServer:
    """Starts the server on a free port; `refused_port` is a port nothing listens on."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.port = self.httpd.server_address[1]
        self.refused_port = _closed_port()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> GoldenServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
