"""Reading piped standard input for a workflow that can use it."""

from __future__ import annotations

import sys
from typing import IO, Any

from pflow.runtime.templates import iter_templates


def workflow_uses_stdin(ir: dict[str, Any]) -> bool:
    """Whether the workflow can consume piped data.

    True when a template names `${stdin}`, or when a shell node has no `stdin` param of its
    own (shell nodes receive piped data by default, as in pflow 0.0.1).
    """
    for node in ir.get("nodes") or []:
        params = node.get("params") or {}
        if node.get("type") == "shell" and "stdin" not in params:
            return True
        if any(t.base == "stdin" for _, t in iter_templates(params)):
            return True
    return False


def read_stdin(stream: IO[str] | None = None) -> str | bytes | None:
    """Piped input: None for a terminal, a closed stream or empty input.

    UTF-8 text is returned as str with one trailing newline removed (as `$(...)` does for the
    last line); other bytes are returned unchanged as bytes, so binary data passes through.
    """
    stream = stream if stream is not None else sys.stdin
    if stream is None or stream.closed:
        return None
    try:
        if stream.isatty():
            return None
        buffer = getattr(stream, "buffer", None)
        raw = buffer.read() if buffer is not None else stream.read().encode("utf-8")
    except (OSError, ValueError):
        return None
    if not raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(raw)
    return text[:-1] if text.endswith("\n") else text
