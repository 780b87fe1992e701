"""copy-file node: copy a file, creating the destination directory."""

from __future__ import annotations

import shutil

from pflow.nodes.file.transfer import FileTransferNode


def copy_file(source: str, dest: str) -> None:
    """Copy `source` to `dest` with its permission bits and timestamps."""
    shutil.copy2(source, dest)


class CopyFileNode(FileTransferNode):
    """Copy `source_path` to `dest_path`; an existing destination needs `overwrite: true`."""

    output_key = "copied"
    done = "Copied"

    def transfer(self, source: str, dest: str) -> None:
        copy_file(source, dest)
