"""delete-file node: delete one file, only when the workflow confirms it."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from pflow.nodes.base import PflowNode
from pflow.nodes.file.paths import os_error_message, path_param


def delete_file(path: str) -> None:
    """Remove the file (or symbolic link) at `path`."""
    os.unlink(path)


class DeleteFileNode(PflowNode):
    """Delete `file_path` when `confirm_delete` is true; a missing file is not an error."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        return {"path": path_param(self, "file_path"), "confirmed": self.param("confirm_delete")}

    def exec(self, prep_res: dict[str, Any]) -> dict[str, str]:
        path = prep_res["path"]
        if not prep_res["confirmed"]:
            return {"error": f"Deletion of '{path}' not confirmed: set confirm_delete: true"}
        if not os.path.lexists(path):
            return {"deleted": f"'{path}' did not exist"}
        if os.path.isdir(path) and not os.path.islink(path):
            return {"error": f"'{path}' is a directory; delete-file only deletes files"}
        try:
            delete_file(path)
        except FileNotFoundError:
            return {"deleted": f"'{path}' did not exist"}
        except OSError as exc:
            return {"error": os_error_message(exc, path)}
        return {"deleted": f"Deleted '{path}'"}

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: dict[str, str]
    ) -> str:
        self.write(shared, **exec_res)
        return "error" if "error" in exec_res else "default"
