"""The write-file node against real files."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.file.write import WriteFileNode
from pflow.registry.catalog import WRITE_FILE

RunNode = Callable[..., tuple[str, dict[str, Any]]]


def write(run_node: RunNode, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return run_node(WriteFileNode, WRITE_FILE, params)


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_writes_text(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "out.txt"
    action, shared = write(run_node, {"file_path": str(f), "content": "héllo"})
    assert action == "default"
    assert f.read_text(encoding="utf-8") == "héllo"
    assert shared == {"written": f"Wrote 6 bytes to '{f}'", "file_path": str(f)}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"name": "Zoë", "tags": [1]}, '{\n  "name": "Zoë",\n  "tags": [\n    1\n  ]\n}'),
        ([1, "two"], '[\n  1,\n  "two"\n]'),
        (True, "true"),
        (5, "5"),
        (2.5, "2.5"),
        (None, ""),
    ],
)
def test_non_string_content(run_node: RunNode, tmp_path: Path, content: Any, expected: str) -> None:
    f = tmp_path / "out.json"
    action, _ = write(run_node, {"file_path": str(f), "content": content})
    assert action == "default"
    assert f.read_text(encoding="utf-8") == expected


def test_missing_content_is_a_param_error(run_node: RunNode, tmp_path: Path) -> None:
    with pytest.raises(NodeParamError, match="content"):
        write(run_node, {"file_path": str(tmp_path / "x")})


def test_creates_parent_directories(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "a" / "b" / "c.txt"
    action, _ = write(run_node, {"file_path": str(f), "content": "deep"})
    assert action == "default"
    assert f.read_text() == "deep"


def test_relative_and_home_paths(
    run_node: RunNode, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, shared = write(run_node, {"file_path": "rel.txt", "content": "r"})
    assert shared["file_path"] == os.path.join(os.getcwd(), "rel.txt")
    _, shared = write(run_node, {"file_path": "~/h.txt", "content": "h"})
    assert (home / "h.txt").read_text() == "h"
    assert shared["file_path"] == str(home / "h.txt")


def test_overwrite_replaces_and_keeps_mode(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "script.sh"
    f.write_text("old content that is longer")
    f.chmod(0o750)
    action, _ = write(run_node, {"file_path": str(f), "content": "new"})
    assert action == "default"
    assert f.read_text() == "new"
    assert stat.S_IMODE(f.stat().st_mode) == 0o750
    assert sorted(os.listdir(tmp_path)) == ["script.sh"]  # no temporary file left behind


def test_new_file_mode_follows_umask(run_node: RunNode, tmp_path: Path, umask_027: None) -> None:
    f = tmp_path / "new.txt"
    write(run_node, {"file_path": str(f), "content": "x"})
    assert stat.S_IMODE(f.stat().st_mode) == 0o640


def test_write_through_symlink_updates_target(run_node: RunNode, tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write(run_node, {"file_path": str(link), "content": "new"})
    assert link.is_symlink()
    assert target.read_text() == "new"


def test_append(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "log.txt"
    f.write_text("one\n")
    action, shared = write(run_node, {"file_path": str(f), "content": "twö\n", "append": True})
    assert action == "default"
    assert f.read_text() == "one\ntwö\n"
    assert shared["written"] == f"Appended 5 bytes to '{f}'"


def test_append_creates_missing_file(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "new" / "log.txt"
    write(run_node, {"file_path": str(f), "content": "first", "append": True})
    assert f.read_text() == "first"


def test_encoding(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "latin.txt"
    _, shared = write(run_node, {"file_path": str(f), "content": "café", "encoding": "latin-1"})
    assert f.read_bytes() == b"caf\xe9"
    assert shared["written"] == f"Wrote 4 bytes to '{f}'"


def test_unencodable_content(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "ascii.txt"
    action, shared = write(run_node, {"file_path": str(f), "content": "€", "encoding": "ascii"})
    assert action == "error"
    assert shared["error"].startswith("Cannot encode the content as ascii")
    assert not f.exists()


def test_target_is_a_directory(run_node: RunNode, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    action, shared = write(run_node, {"file_path": str(d), "content": "x"})
    assert action == "error"
    assert shared == {"error": f"Is a directory: {d}"}
    assert d.is_dir()


def test_append_to_a_directory(run_node: RunNode, tmp_path: Path) -> None:
    action, shared = write(run_node, {"file_path": str(tmp_path), "content": "x", "append": True})
    assert action == "error"
    assert shared["error"] == f"Is a directory: {tmp_path}"


def test_parent_is_a_file(run_node: RunNode, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    action, shared = write(run_node, {"file_path": str(blocker / "x.txt"), "content": "x"})
    assert action == "error"
    assert str(blocker) in shared["error"]
    assert blocker.read_text() == "I am a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_directory(run_node: RunNode, tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        action, shared = write(run_node, {"file_path": str(d / "x.txt"), "content": "x"})
    finally:
        d.chmod(0o700)
    assert action == "error"
    assert shared["error"].startswith("Permission denied: ")


def test_writes_binary_content_unchanged(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "blob.bin"
    action, shared = write(run_node, {"file_path": str(f), "content": b"\xff\xfe\x00abc"})
    assert action == "default"
    assert f.read_bytes() == b"\xff\xfe\x00abc"
    assert shared["written"] == f"Wrote 6 bytes to '{f}'"
