"""The delete-file node against real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.file.delete import DeleteFileNode
from pflow.registry.catalog import DELETE_FILE

RunNode = Callable[..., tuple[str, dict[str, Any]]]


def delete(run_node: RunNode, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return run_node(DeleteFileNode, DELETE_FILE, params)


def test_deletes_file(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "doomed.txt"
    f.write_text("x")
    action, shared = delete(run_node, {"file_path": str(f), "confirm_delete": True})
    assert action == "default"
    assert shared == {"deleted": f"Deleted '{f}'"}
    assert not f.exists()


def test_unconfirmed_deletion(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "safe.txt"
    f.write_text("x")
    action, shared = delete(run_node, {"file_path": str(f), "confirm_delete": False})
    assert action == "error"
    assert shared == {"error": f"Deletion of '{f}' not confirmed: set confirm_delete: true"}
    assert f.exists()


@pytest.mark.parametrize("confirm", [None, "yes", 1])
def test_confirm_must_be_given_as_a_boolean(
    run_node: RunNode, tmp_path: Path, confirm: Any
) -> None:
    f = tmp_path / "safe.txt"
    f.write_text("x")
    params: dict[str, Any] = {"file_path": str(f)}
    if confirm is not None:
        params["confirm_delete"] = confirm
    with pytest.raises(NodeParamError, match="confirm_delete"):
        delete(run_node, params)
    assert f.exists()


def test_missing_file_is_not_an_error(run_node: RunNode, tmp_path: Path) -> None:
    missing = tmp_path / "gone.txt"
    action, shared = delete(run_node, {"file_path": str(missing), "confirm_delete": True})
    assert action == "default"
    assert shared == {"deleted": f"'{missing}' did not exist"}


def test_directory_is_refused(run_node: RunNode, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    (d / "inner.txt").write_text("x")
    action, shared = delete(run_node, {"file_path": str(d), "confirm_delete": True})
    assert action == "error"
    assert "is a directory" in shared["error"]
    assert (d / "inner.txt").exists()


def test_symlink_to_directory_deletes_only_the_link(run_node: RunNode, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    link = tmp_path / "link"
    link.symlink_to(d)
    action, _ = delete(run_node, {"file_path": str(link), "confirm_delete": True})
    assert action == "default"
    assert not link.is_symlink()
    assert d.is_dir()


def test_home_expansion(run_node: RunNode, home: Path) -> None:
    f = home / "tmp.txt"
    f.write_text("x")
    _, shared = delete(run_node, {"file_path": "~/tmp.txt", "confirm_delete": True})
    assert not f.exists()
    assert shared["deleted"] == f"Deleted '{f}'"
