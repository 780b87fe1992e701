"""read-file node: read a text file into the shared store."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from pflow.nodes.base import PflowNode
from pflow.nodes.file.paths import encoding_param, os_error_message, path_param


def read_text(path: str, encoding: str) -> str:
    """The text of the file at `path`, line endings kept as they are."""
    with open(path, encoding=encoding, newline="") as f:
        return f.read()


class ReadFileNode(PflowNode):
    """Read `file_path`; a missing or unreadable file takes the error action."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, str]:
        return {"path": path_param(self, "file_path"), "encoding": encoding_param(self)}

    def exec(self, prep_res: dict[str, str]) -> dict[str, str]:
        path, encoding = prep_res["path"], prep_res["encoding"]
        try:
            return {"content": read_text(path, encoding), "file_path": path}
        except UnicodeDecodeError as exc:
            return {
                "error": f"Cannot decode {path} as {encoding}: {exc.reason} at byte {exc.start}"
            }
        except OSError as exc:
            return {"error": os_error_message(exc, path)}

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, str], exec_res: dict[str, str]
    ) -> str:
        self.write(shared, **exec_res)
        return "error" if "error" in exec_res else "default"
