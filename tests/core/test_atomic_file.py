"""Tests for pflow.foundation.atomic_file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pflow.foundation.atomic_file import dump_json, write_text_atomic


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dump_json_format():
    assert (
        dump_json({"b": 1, "a": ["é", None]})
        == '{\n  "b": 1,\n  "a": [\n    "é",\n    null\n  ]\n}\n'
    )


def test_dump_json_rejects_nan():
    with pytest.raises(ValueError):
        dump_json({"x": float("nan")})


def test_write_creates_file_with_umask_mode(tmp_path: Path, umask_022: None):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    assert _mode(target) == 0o644
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_keeps_existing_mode(tmp_path: Path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o600)
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert _mode(target) == 0o600
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_uses_explicit_mode(tmp_path: Path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o644)
    write_text_atomic(target, "new", mode=0o640)
    assert _mode(target) == 0o640


def test_write_does_not_translate_newlines(tmp_path: Path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "a\r\nb\n")
    assert target.read_bytes() == b"a\r\nb\n"


def test_failed_replace_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = tmp_path / "out.txt"
    target.write_bytes(b"original")
    seen: list[str] = []

    def boom(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(os.path.basename(src))
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_text_atomic(target, "replacement")
    assert target.read_bytes() == b"original"
    assert os.listdir(tmp_path) == ["out.txt"]
    assert len(seen) == 1
    assert seen[0].startswith(".out.txt.") and seen[0].endswith(".tmp")


def test_failed_write_removes_temp(tmp_path: Path):
    target = tmp_path / "out.txt"
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "lone surrogate \udcff")
    assert os.listdir(tmp_path) == []


def test_missing_directory_raises(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "nope" / "out.txt", "x")
