"""The move-file node against real files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.file.move import MoveFileNode
from pflow.registry.catalog import MOVE_FILE

RunNode = Callable[..., tuple[str, dict[str, Any]]]


def move(run_node: RunNode, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return run_node(MoveFileNode, MOVE_FILE, params)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    f = tmp_path / "src.txt"
    f.write_text("payload")
    return f


def test_moves_into_new_directory(run_node: RunNode, tmp_path: Path, source: Path) -> None:
    dest = tmp_path / "new" / "dst.txt"
    action, shared = move(run_node, {"source_path": str(source), "dest_path": str(dest)})
    assert action == "default"
    assert shared == {"moved": f"Moved '{source}' to '{dest}'"}
    assert dest.read_text() == "payload"
    assert not source.exists()


def test_existing_destination_without_overwrite(
    run_node: RunNode, tmp_path: Path, source: Path
) -> None:
    dest = tmp_path / "dst.txt"
    dest.write_text("keep me")
    action, shared = move(run_node, {"source_path": str(source), "dest_path": str(dest)})
    assert action == "error"
    assert shared == {
        "error": f"Destination '{dest}' already exists; set overwrite: true to replace it"
    }
    assert dest.read_text() == "keep me"
    assert source.exists()


def test_existing_destination_with_overwrite(
    run_node: RunNode, tmp_path: Path, source: Path
) -> None:
    dest = tmp_path / "dst.txt"
    dest.write_text("old")
    params = {"source_path": str(source), "dest_path": str(dest), "overwrite": True}
    action, _ = move(run_node, params)
    assert action == "default"
    assert dest.read_text() == "payload"
    assert not source.exists()


def test_missing_source(run_node: RunNode, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    params = {"source_path": str(missing), "dest_path": str(tmp_path / "d.txt")}
    action, shared = move(run_node, params)
    assert action == "error"
    assert shared["error"] == f"Source file not found: {missing}"


def test_source_directory_is_refused(run_node: RunNode, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    action, shared = move(run_node, {"source_path": str(d), "dest_path": str(tmp_path / "x")})
    assert action == "error"
    assert "is a directory" in shared["error"]
    assert d.is_dir()


def test_rename_in_place_with_relative_paths(
    run_node: RunNode, tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, shared = move(run_node, {"source_path": "src.txt", "dest_path": "renamed.txt"})
    assert (tmp_path / "renamed.txt").read_text() == "payload"
    assert shared["moved"] == (
        f"Moved '{os.path.join(os.getcwd(), 'src.txt')}' to "
        f"'{os.path.join(os.getcwd(), 'renamed.txt')}'"
    )


def _other_device_dir(tmp_path: Path) -> str | None:
    """A fresh directory on another filesystem than tmp_path, when this machine has one."""
    for base in ("/dev/shm", "/run", "/tmp"):
        usable = os.path.isdir(base) and os.access(base, os.W_OK)
        if usable and os.stat(base).st_dev != os.stat(tmp_path).st_dev:
            return tempfile.mkdtemp(prefix="pflow-move-", dir=base)
    return None


def test_move_across_filesystems(run_node: RunNode, tmp_path: Path, source: Path) -> None:
    other = _other_device_dir(tmp_path)
    if other is None:
        pytest.skip("no second filesystem to move across")
    try:
        dest = Path(other) / "moved.txt"
        action, _ = move(run_node, {"source_path": str(source), "dest_path": str(dest)})
        assert action == "default"
        assert dest.read_text() == "payload"
        assert not source.exists()
    finally:
        shutil.rmtree(other)


def test_missing_source_param_is_a_param_error(run_node: RunNode, tmp_path: Path) -> None:
    with pytest.raises(NodeParamError, match="source_path"):
        move(run_node, {"dest_path": str(tmp_path / "x")})
