"""write-file node: write or append text to a file, replacing it atomically."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from pflow.foundation.atomic_file import write_bytes_atomic
from pflow.nodes.base import PflowNode
from pflow.nodes.file.paths import encoding_param, os_error_message, path_param


def content_text(value: Any) -> str | bytes:
    """What is written for a content value: text and bytes as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return json.dumps(value, ensure_ascii=False)


def write_bytes(path: str, data: bytes, *, append: bool) -> None:
    """Append `data` to `path`, or replace the file with it atomically (same dir, fsync, rename)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if append:
        with open(path, "ab") as f:
            f.write(data)
        return
    target = os.path.realpath(path)  # replace a symlink's target, not the link
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    write_bytes_atomic(Path(target), data)


class WriteFileNode(PflowNode):
    """Write `content` to `file_path`; OS errors take the error action."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        # An explicit null is an empty file; an absent content is a missing parameter.
        if "content" in self.params and self.params["content"] is None:
            content = None
        else:
            content = self.param("content")
        return {
            "path": path_param(self, "file_path"),
            "text": content_text(content),
            "encoding": encoding_param(self),
            "append": self.param("append"),
        }

    def exec(self, prep_res: dict[str, Any]) -> dict[str, str]:
        path, encoding, content = prep_res["path"], prep_res["encoding"], prep_res["text"]
        try:
            data = content if isinstance(content, bytes) else content.encode(encoding)
        except UnicodeEncodeError as exc:
            return {"error": f"Cannot encode the content as {encoding}: {exc.reason}"}
        try:
            write_bytes(path, data, append=prep_res["append"])
        except OSError as exc:
            return {"error": os_error_message(exc, path)}
        verb = "Appended" if prep_res["append"] else "Wrote"
        return {"written": f"{verb} {len(data)} bytes to '{path}'", "file_path": path}

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: dict[str, str]
    ) -> str:
        self.write(shared, **exec_res)
        return "error" if "error" in exec_res else "default"
