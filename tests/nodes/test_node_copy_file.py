"""The copy-file node against real files."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.file.copy import CopyFileNode
from pflow.registry.catalog import COPY_FILE

RunNode = Callable[..., tuple[str, dict[str, Any]]]


def copy(run_node: RunNode, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return run_node(CopyFileNode, COPY_FILE, params)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    f = tmp_path / "src.txt"
    f.write_text("payload")
    f.chmod(0o640)
    return f


def test_copies_into_new_directory(run_node: RunNode, tmp_path: Path, source: Path) -> None:
    dest = tmp_path / "new" / "dir" / "dst.txt"
    action, shared = copy(run_node, {"source_path": str(source), "dest_path": str(dest)})
    assert action == "default"
    assert shared == {"copied": f"Copied '{source}' to '{dest}'"}
    assert dest.read_text() == "payload"
    assert source.read_text() == "payload"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640


def test_existing_destination_without_overwrite(
    run_node: RunNode, tmp_path: Path, source: Path
) -> None:
    dest = tmp_path / "dst.txt"
    dest.write_text("keep me")
    action, shared = copy(run_node, {"source_path": str(source), "dest_path": str(dest)})
    assert action == "error"
    assert shared == {
        "error": f"Destination '{dest}' already exists; set overwrite: true to replace it"
    }
    assert dest.read_text() == "keep me"


def test_existing_destination_with_overwrite(
    run_node: RunNode, tmp_path: Path, source: Path
) -> None:
    dest = tmp_path / "dst.txt"
    dest.write_text("old")
    params = {"source_path": str(source), "dest_path": str(dest), "overwrite": True}
    action, _ = copy(run_node, params)
    assert action == "default"
    assert dest.read_text() == "payload"


def test_missing_source(run_node: RunNode, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    params = {"source_path": str(missing), "dest_path": str(tmp_path / "d.txt")}
    action, shared = copy(run_node, params)
    assert action == "error"
    assert shared["error"] == f"Source file not found: {missing}"
    assert not (tmp_path / "d.txt").exists()


def test_source_directory(run_node: RunNode, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    action, shared = copy(run_node, {"source_path": str(d), "dest_path": str(tmp_path / "x")})
    assert action == "error"
    assert "is a directory" in shared["error"]


def test_existing_directory_destination_receives_the_file(
    run_node: RunNode, tmp_path: Path, source: Path
) -> None:
    d = tmp_path / "into"
    d.mkdir()
    _, shared = copy(run_node, {"source_path": str(source), "dest_path": str(d)})
    assert (d / "src.txt").read_text() == "payload"
    assert shared["copied"] == f"Copied '{source}' to '{d / 'src.txt'}'"


def test_trailing_slash_destination_is_a_directory(
    run_node: RunNode, tmp_path: Path, source: Path
) -> None:
    action, _ = copy(run_node, {"source_path": str(source), "dest_path": f"{tmp_path}/later/"})
    assert action == "default"
    assert (tmp_path / "later" / "src.txt").read_text() == "payload"


def test_same_file_with_overwrite(run_node: RunNode, source: Path) -> None:
    params = {"source_path": str(source), "dest_path": str(source), "overwrite": True}
    action, shared = copy(run_node, params)
    assert action == "error"
    assert "same file" in shared["error"]
    assert source.read_text() == "payload"


def test_home_expansion(run_node: RunNode, home: Path, source: Path) -> None:
    _, shared = copy(run_node, {"source_path": str(source), "dest_path": "~/copy.txt"})
    assert (home / "copy.txt").read_text() == "payload"
    assert str(home / "copy.txt") in shared["copied"]


def test_missing_dest_is_a_param_error(run_node: RunNode, source: Path) -> None:
    with pytest.raises(NodeParamError, match="dest_path"):
        copy(run_node, {"source_path": str(source)})
