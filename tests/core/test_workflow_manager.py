"""Tests for pflow.core.workflow_manager: real files under a temporary PFLOW_HOME."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from pflow.core import WorkflowManager as LazyWorkflowManager
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.exceptions import (
    InvalidWorkflowError,
    ParameterError,
    WorkflowExistsError,
    WorkflowNotFoundError,
    WorkflowStorageError,
)

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
FIXED_NOW = "2025-01-02T03:04:05.000006+00:00"

BAD_NAMES = [
    ("", "Workflow name cannot be empty"),
    ("a" * 51, "Workflow name cannot exceed 50 characters"),
    ("has space", "Workflow name can only contain letters, numbers, dots, hyphens and underscores"),
    ("a/b", "Workflow name can only contain letters, numbers, dots, hyphens and underscores"),
    ("héllo", "Workflow name can only contain letters, numbers, dots, hyphens and underscores"),
    (".hidden", "Workflow name cannot start with '.' or '-'"),
    ("-flag", "Workflow name cannot start with '.' or '-'"),
    ("a..b", "Workflow name cannot contain '..'"),
]


def _files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_lazy_reexport_is_the_same_class():
    assert LazyWorkflowManager is WorkflowManager


@pytest.mark.parametrize(("name", "message"), BAD_NAMES)
@pytest.mark.parametrize("operation", ["save", "load", "delete"])
def test_name_rules(manager: WorkflowManager, name: str, message: str, operation: str):
    with pytest.raises(ParameterError) as info:
        if operation == "save":
            manager.save(name, {"nodes": []})
        else:
            getattr(manager, operation)(name)
    assert info.value.message == message
    assert isinstance(info.value, InvalidWorkflowError)
    assert not manager.workflows_dir.exists()


@pytest.mark.parametrize("name", ["a", "A" * 50, "my_flow.v2-1", "x.y", "9lives"])
def test_valid_names_round_trip(manager: WorkflowManager, name: str):
    manager.save(name, {"nodes": []})
    assert manager.load_ir(name) == {"nodes": []}
    assert manager.exists(name)


def test_exists_is_false_for_invalid_or_missing(manager: WorkflowManager):
    assert manager.exists("../etc") is False
    assert manager.exists("missing") is False
    with pytest.raises(WorkflowNotFoundError):
        manager.delete("missing")
    assert not manager.workflows_dir.exists()


def test_directory_created_lazily_on_first_write(pflow_home: Path, sample_ir: dict[str, Any]):
    manager = WorkflowManager()
    assert manager.list_all() == []
    with pytest.raises(WorkflowNotFoundError):
        manager.load("nothing")
    assert not pflow_home.exists()
    path = manager.save("first", sample_ir)
    assert path == pflow_home / "workflows" / "first.json"
    assert path.is_file()


def test_explicit_directory(tmp_path: Path, sample_ir: dict[str, Any]):
    manager = WorkflowManager(tmp_path / "store")
    assert manager.save("x", sample_ir) == tmp_path / "store" / "x.json"
    assert manager.get_path("x") == tmp_path / "store" / "x.json"


def test_save_writes_exact_bytes(manager: WorkflowManager, sample_ir: dict[str, Any]):
    manager = WorkflowManager(manager.workflows_dir, clock=lambda: FIXED_NOW)
    path = manager.save("greet", sample_ir, "Says hi", {"keywords": ["hi"]})
    expected = (
        "{\n"
        '  "name": "greet",\n'
        '  "description": "Says hi",\n'
        '  "ir": {\n'
        '    "ir_version": "0.1.0",\n'
        '    "nodes": [\n'
        "      {\n"
        '        "id": "greet",\n'
        '        "type": "shell",\n'
        '        "params": {\n'
        '          "command": "echo héllo"\n'
        "        }\n"
        "      }\n"
        "    ],\n"
        '    "edges": []\n'
        "  },\n"
        f'  "created_at": "{FIXED_NOW}",\n'
        f'  "updated_at": "{FIXED_NOW}",\n'
        '  "version": "1.0.0",\n'
        '  "rich_metadata": {\n'
        '    "keywords": [\n'
        '      "hi"\n'
        "    ]\n"
        "  }\n"
        "}\n"
    )
    assert path.read_bytes() == expected.encode("utf-8")


def test_round_trip_without_description_or_metadata(
    manager: WorkflowManager, sample_ir: dict[str, Any]
):
    manager.save("plain", sample_ir, metadata={})
    wrapper = manager.load("plain")
    assert list(wrapper) == ["name", "description", "ir", "created_at", "updated_at", "version"]
    assert wrapper["description"] == ""
    assert wrapper["ir"] == sample_ir
    assert manager.load_ir("plain") == sample_ir
    assert ISO_UTC.match(wrapper["created_at"])
    assert wrapper["created_at"] == wrapper["updated_at"]
    assert wrapper["version"] == "1.0.0"


def test_save_refuses_existing(manager: WorkflowManager, sample_ir: dict[str, Any]):
    path = manager.save("dup", sample_ir)
    before = path.read_bytes()
    with pytest.raises(WorkflowExistsError) as info:
        manager.save("dup", {"nodes": []})
    assert "dup" in info.value.message
    assert info.value.hint == "use --force to replace it"
    assert path.read_bytes() == before


def test_force_replaces_and_keeps_created_at(manager: WorkflowManager, sample_ir: dict[str, Any]):
    now = ["2020-01-01T00:00:00.000000+00:00"]
    manager = WorkflowManager(manager.workflows_dir, clock=lambda: now[0])
    manager.save("flow", sample_ir, "old")
    now[0] = FIXED_NOW
    manager.save("flow", {"nodes": []}, "new", force=True)
    wrapper = manager.load("flow")
    assert wrapper["created_at"] == "2020-01-01T00:00:00.000000+00:00"
    assert wrapper["updated_at"] == FIXED_NOW
    assert wrapper["description"] == "new"
    assert wrapper["ir"] == {"nodes": []}


def test_force_without_description_or_metadata_keeps_the_old_ones(
    manager: WorkflowManager, sample_ir: dict[str, Any]
):
    manager.save("flow", sample_ir, "Greets people", {"search_keywords": ["greet"]})
    manager.save("flow", {"nodes": []}, force=True)
    wrapper = manager.load("flow")
    assert wrapper["description"] == "Greets people"
    assert wrapper["rich_metadata"] == {"search_keywords": ["greet"]}
    assert wrapper["ir"] == {"nodes": []}


def test_save_keeps_mode_and_leaves_only_lock(manager: WorkflowManager, sample_ir: dict[str, Any]):
    path = manager.save("m", sample_ir)
    path.chmod(0o600)
    manager.save("m", {"nodes": []}, force=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _files(manager.workflows_dir) == [".m.json.lock", "m.json"]


def test_save_rejects_non_dict_ir(manager: WorkflowManager):
    with pytest.raises(InvalidWorkflowError):
        manager.save("x", ["not", "an", "object"])  # type: ignore[arg-type]
    assert not manager.exists("x")


def test_save_rejects_unserialisable_ir(manager: WorkflowManager):
    with pytest.raises(WorkflowStorageError, match="cannot be saved as JSON"):
        manager.save("x", {"value": float("nan")})
    assert not manager.get_path("x").exists()


def test_failed_replace_keeps_old_file(
    manager: WorkflowManager, sample_ir: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    path = manager.save("safe", sample_ir)
    before = path.read_bytes()

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(WorkflowStorageError) as info:
        manager.save("safe", {"nodes": []}, force=True)
    assert str(path) in info.value.message
    assert path.read_bytes() == before
    assert _files(manager.workflows_dir) == [".safe.json.lock", "safe.json"]


CORRUPT = [
    pytest.param(b'{"name": "x", "ir": {}', "line 1, column 23", id="truncated"),
    pytest.param(b'{\n  "ir": {},\n  oops\n}\n', "line 3, column 3", id="syntax"),
    pytest.param(b'{"ir": {}, "ir": {"nodes": []}}', "duplicate key 'ir'", id="duplicate"),
    pytest.param(b'{"ir": {"nodes": [NaN]}}', "NaN", id="nan"),
    pytest.param(b"[1, 2]", "expected an object", id="array"),
    pytest.param(b'{"name": "x"}', "missing an 'ir' object", id="no-ir"),
    pytest.param(b'{"name": "x", "ir": "text"}', "missing an 'ir' object", id="ir-not-object"),
    pytest.param(b'{"ir": {}, "d": "\xff"}', "not valid JSON", id="not-utf8"),
]


@pytest.mark.parametrize(("content", "problem"), CORRUPT)
def test_corrupt_file_is_reported_and_untouched(
    manager: WorkflowManager, content: bytes, problem: str
):
    manager.workflows_dir.mkdir(parents=True)
    path = manager.get_path("broken")
    path.write_bytes(content)
    with pytest.raises(WorkflowStorageError) as info:
        manager.load("broken")
    assert str(path) in info.value.message
    assert problem in info.value.message
    assert info.value.path == str(path)
    with pytest.raises(WorkflowExistsError):
        manager.save("broken", {"nodes": []})
    with pytest.raises(WorkflowStorageError) as forced:
        manager.save("broken", {"nodes": []}, force=True)
    assert str(path) in forced.value.message
    assert forced.value.hint is not None and "delete" in forced.value.hint
    assert path.read_bytes() == content
    assert _files(manager.workflows_dir) == [".broken.json.lock", "broken.json"]


def test_not_found_suggests_close_names(manager: WorkflowManager, sample_ir: dict[str, Any]):
    for name in ["hello-world", "hello-word", "goodbye"]:
        manager.save(name, sample_ir)
    with pytest.raises(WorkflowNotFoundError) as info:
        manager.load("hello-wrld")
    assert info.value.message == "Workflow 'hello-wrld' not found"
    assert info.value.hint is not None
    assert "hello-world" in info.value.hint and "hello-word" in info.value.hint
    assert "goodbye" not in info.value.hint
    assert isinstance(info.value, FileNotFoundError)


def test_not_found_without_close_names(manager: WorkflowManager):
    with pytest.raises(WorkflowNotFoundError) as info:
        manager.load_ir("zzz")
    assert info.value.message == "Workflow 'zzz' not found"
    assert info.value.hint is not None and "pflow workflow list" in info.value.hint


def test_delete(manager: WorkflowManager, sample_ir: dict[str, Any]):
    manager.save("gone", sample_ir)
    manager.delete("gone")
    assert not manager.exists("gone")
    assert _files(manager.workflows_dir) == [".gone.json.lock"]
    with pytest.raises(WorkflowNotFoundError, match="Workflow 'gone' not found"):
        manager.delete("gone")


def test_list_all_sorted_and_skips_corrupt(manager: WorkflowManager, sample_ir: dict[str, Any]):
    manager.save("zeta", sample_ir, "last")
    manager.save("alpha", sample_ir, "first")
    (manager.workflows_dir / "middle.json").write_text("{not json")
    (manager.workflows_dir / "bad name.json").write_text(json.dumps({"ir": {}}))
    (manager.workflows_dir / "notes.txt").write_text("ignored")
    listed = manager.list_all()
    assert [w["name"] for w in listed] == ["alpha", "zeta"]
    assert [w["description"] for w in listed] == ["first", "last"]
    assert len(manager.problems) == 2
    assert any(str(manager.workflows_dir / "middle.json") in p for p in manager.problems)
    assert any("bad name.json" in p for p in manager.problems)
    (manager.workflows_dir / "middle.json").unlink()
    (manager.workflows_dir / "bad name.json").unlink()
    manager.list_all()
    assert manager.problems == []


def test_save_times_out_when_locked(manager: WorkflowManager, sample_ir: dict[str, Any]):
    manager = WorkflowManager(manager.workflows_dir, lock_timeout=0.05)
    path = manager.save("busy", sample_ir)
    before = path.read_bytes()
    with FileLock(str(manager.workflows_dir / ".busy.json.lock")):
        with pytest.raises(WorkflowStorageError, match="Timed out"):
            manager.save("busy", {"nodes": []}, force=True)
        with pytest.raises(WorkflowStorageError, match="Timed out"):
            manager.delete("busy")
    assert path.read_bytes() == before
