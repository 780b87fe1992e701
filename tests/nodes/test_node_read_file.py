"""The read-file node against real files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeParamError
from pflow.nodes.file.paths import absolute_path, os_error_message
from pflow.nodes.file.read import ReadFileNode
from pflow.registry.catalog import READ_FILE

RunNode = Callable[..., tuple[str, dict[str, Any]]]


def read(run_node: RunNode, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return run_node(ReadFileNode, READ_FILE, params)


def test_reads_text_exactly(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_bytes("héllo\r\nwörld\n\nlast".encode())
    action, shared = read(run_node, {"file_path": str(f)})
    assert action == "default"
    assert shared == {"content": "héllo\r\nwörld\n\nlast", "file_path": str(f)}


def test_relative_path_is_made_absolute(
    run_node: RunNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("A")
    monkeypatch.chdir(tmp_path)
    _, shared = read(run_node, {"file_path": "other/../sub/a.txt"})
    assert shared["content"] == "A"
    assert shared["file_path"] == os.path.join(os.getcwd(), "sub", "a.txt")


def test_home_is_expanded(run_node: RunNode, home: Path) -> None:
    (home / "h.txt").write_text("home file")
    _, shared = read(run_node, {"file_path": "~/h.txt"})
    assert shared["content"] == "home file"
    assert shared["file_path"] == str(home / "h.txt")


def test_other_encoding(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "latin.txt"
    f.write_bytes(b"caf\xe9")
    _, shared = read(run_node, {"file_path": str(f), "encoding": "latin-1"})
    assert shared["content"] == "café"


def test_missing_file(run_node: RunNode, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    action, shared = read(run_node, {"file_path": str(missing)})
    assert action == "error"
    assert shared == {"error": f"File not found: {missing}"}


def test_directory(run_node: RunNode, tmp_path: Path) -> None:
    action, shared = read(run_node, {"file_path": str(tmp_path)})
    assert action == "error"
    assert shared["error"] == f"Is a directory: {tmp_path}"


def test_undecodable_file(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "binary.bin"
    f.write_bytes(b"ok\xff\xfe")
    action, shared = read(run_node, {"file_path": str(f)})
    assert action == "error"
    assert shared["error"].startswith(f"Cannot decode {f} as utf-8: ")
    assert "byte 2" in shared["error"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(run_node: RunNode, tmp_path: Path) -> None:
    f = tmp_path / "secret.txt"
    f.write_text("s")
    f.chmod(0)
    action, shared = read(run_node, {"file_path": str(f)})
    assert action == "error"
    assert shared["error"] == f"Permission denied: {f}"


def test_permission_error_message() -> None:
    exc = PermissionError(13, "Permission denied", "/srv/secret")
    assert os_error_message(exc, "/other") == "Permission denied: /srv/secret"
    assert os_error_message(OSError(28, "No space left on device"), "/x") == (
        "No space left on device: /x"
    )


@pytest.mark.parametrize("encoding", ["no-such-codec", "base64"])
def test_unknown_encoding_is_a_param_error(
    run_node: RunNode, tmp_path: Path, encoding: str
) -> None:
    f = tmp_path / "a.txt"
    f.write_text("a")
    with pytest.raises(NodeParamError, match="unknown encoding"):
        read(run_node, {"file_path": str(f), "encoding": encoding})


@pytest.mark.parametrize("params", [{}, {"file_path": ""}, {"file_path": "a\0b"}])
def test_bad_path_is_a_param_error(run_node: RunNode, params: dict[str, Any]) -> None:
    with pytest.raises(NodeParamError, match="file_path"):
        read(run_node, params)


def test_absolute_path_normalises() -> None:
    assert absolute_path("/a/b/../c/./d") == "/a/c/d"
