"""What copy-file and move-file share: checks, destination rules and error reporting."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, ClassVar

from pflow.nodes.base import PflowNode
from pflow.nodes.file.paths import (
    PathProblem,
    check_source_file,
    transfer_destination,
    transfer_error,
    transfer_params,
)


class FileTransferNode(PflowNode):
    """Transfer `source_path` to `dest_path`; an existing destination needs `overwrite: true`.

    Subclasses name the output key and the past-tense verb of its message, and implement
    `transfer`.
    """

    output_key: ClassVar[str]
    done: ClassVar[str]

    def transfer(self, source: str, dest: str) -> None:
        """Do the copy or move (the side effect tests may replace)."""
        raise NotImplementedError

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
            self.transfer(source, dest)
        except PathProblem as exc:
            return {"error": str(exc)}
        except OSError as exc:
            return {"error": transfer_error(exc, source)}
        return {self.output_key: f"{self.done} '{source}' to '{dest}'"}

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: dict[str, str]
    ) -> str:
        self.write(shared, **exec_res)
        return "error" if "error" in exec_res else "default"
