"""move-file node: move or rename a file, across filesystems too."""

from __future__ import annotations

import shutil

from pflow.nodes.file.transfer import FileTransferNode


def move_file(source: str, dest: str) -> None:
    """Rename `source` to `dest`, copying then deleting when they are on different devices."""
    shutil.move(source, dest)


class MoveFileNode(FileTransferNode):
    """Move `source_path` to `dest_path`; an existing destination needs `overwrite: true`."""

    output_key = "moved"
    done = "Moved"

    def transfer(self, source: str, dest: str) -> None:
        move_file(source, dest)
