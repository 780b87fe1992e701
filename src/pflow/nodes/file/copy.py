"""copy-file node: copy a file, creating the destination directory."""

from __future__ import annotations

import shutil
from collections.abc import MutableMapping
from typing import Any

from pflow.nodes.base import PflowNode
from pflow.nodes.file.paths import (
    PathProblem,
    check_source_file,
    transfer_destination,
    transfer_error,
    transfer_params,
)


def copy_file(source: str, dest: str) -> None:
    """Copy `source` to `dest` with its permission bits and timestamps."""
    shutil.copy2(source, dest)


class CopyFileNode(PflowNode):
    """Copy `source_path` to `dest_path`; an existing destination needs `overwrite: true`."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        return transfer_params(self)

    def exec(self, prep_res: dict[str, Any]) -> dict[str, str]:
        source = prep_res["source"]
        try:
            check_source_file(source)
            dest = transfer_destination(
                source,
                prep_res["dest"],
                into_dir=prep_res["into_dir"],
                overwrite=prep_res["overwrite"],
            )
            copy_file(source, dest)
        except PathProblem as exc:
            return {"error": str(exc)}
        except OSError as exc:
            return {"error": transfer_error(exc, source)}
        return {"copied": f"Copied '{source}' to '{dest}'"}

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: dict[str, str]
    ) -> str:
        self.write(shared, **exec_res)
        return "error" if "error" in exec_res else "default"
