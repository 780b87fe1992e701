"""Tests for WorkflowManager.update_metadata: merge, locking, atomic writes, refusals.

Real files under a temporary PFLOW_HOME (fixtures `pflow_home`, `manager` and `sample_ir`
come from tests/core/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.exceptions import (
    ParameterError,
    WorkflowNotFoundError,
    WorkflowStorageError,
)
from pflow.foundation.schemas import document_errors

SAVED_AT = "2025-01-02T03:04:05.000006+00:00"
UPDATED_AT = "2025-02-03T04:05:06.000007+00:00"
SAVED_SCHEMA = "saved-workflow.schema.json"


def _files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def _stored(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def fixed_clock(manager: WorkflowManager) -> Any:
    """`set(text)` makes the manager's clock (given as its `clock`) return `text`."""
    now = [SAVED_AT]
    manager.clock = lambda: now[0]

    def set_now(text: str) -> None:
        now[0] = text

    return set_now


@pytest.fixture
def saved(manager: WorkflowManager, sample_ir: dict[str, Any]) -> Path:
    return manager.save("flow", sample_ir, "A flow")


# -- merging ------------------------------------------------------------------------------------


def test_creates_rich_metadata_when_absent(manager: WorkflowManager, saved: Path):
    assert "rich_metadata" not in _stored(saved)
    returned = manager.update_metadata("flow", {"execution_count": 1})
    assert returned == {"execution_count": 1}
    assert _stored(saved)["rich_metadata"] == {"execution_count": 1}
    assert manager.load("flow")["rich_metadata"] == {"execution_count": 1}


def test_merges_into_existing_rich_metadata(manager: WorkflowManager, sample_ir: dict[str, Any]):
    path = manager.save(
        "flow",
        sample_ir,
        metadata={"search_keywords": ["greet"], "x-team": "ops", "execution_count": 4},
    )
    returned = manager.update_metadata(
        "flow", {"execution_count": 5, "last_execution_success": True}
    )
    expected = {
        "search_keywords": ["greet"],
        "x-team": "ops",
        "execution_count": 5,
        "last_execution_success": True,
    }
    assert returned == expected
    assert _stored(path)["rich_metadata"] == expected
    assert list(_stored(path)["rich_metadata"]) == list(expected)  # existing keys keep order


def test_callable_values_receive_the_stored_value(manager: WorkflowManager, saved: Path):
    seen: list[Any] = []

    def bump(stored: Any) -> int:
        seen.append(stored)
        return (stored or 0) + 1

    manager.update_metadata("flow", {"execution_count": bump})
    manager.update_metadata("flow", {"execution_count": bump})
    manager.update_metadata("flow", {"execution_count": lambda n: n * 10})
    assert seen == [None, 1]
    assert _stored(saved)["rich_metadata"]["execution_count"] == 20


def test_callable_sees_what_is_on_disk_not_what_was_loaded(manager: WorkflowManager, saved: Path):
    loaded = manager.load("flow")
    other = WorkflowManager()  # e.g. another pflow process
    other.update_metadata("flow", {"execution_count": 7})
    manager.update_metadata("flow", {"execution_count": lambda n: n + 1})
    assert "rich_metadata" not in loaded
    assert _stored(saved)["rich_metadata"]["execution_count"] == 8


def test_updated_at_set_and_created_at_kept(
    manager: WorkflowManager, sample_ir: dict[str, Any], fixed_clock: Any
):
    path = manager.save("flow", sample_ir)
    fixed_clock(UPDATED_AT)
    manager.update_metadata("flow", {"execution_count": 1})
    stored = _stored(path)
    assert stored["created_at"] == SAVED_AT
    assert stored["updated_at"] == UPDATED_AT
    assert stored["ir"] == sample_ir
    assert stored["description"] == ""


def test_exact_file_bytes(manager: WorkflowManager, sample_ir: dict[str, Any], fixed_clock: Any):
    path = manager.save("layout", sample_ir, "Says héllo")
    fixed_clock(UPDATED_AT)
    manager.update_metadata("layout", {"search_keywords": ["greet"], "execution_count": 3})
    expected = textwrap.dedent(
        """\
        {
          "name": "layout",
          "description": "Says héllo",
          "ir": {
            "ir_version": "0.1.0",
            "nodes": [
              {
                "id": "greet",
                "type": "shell",
                "params": {
                  "command": "echo héllo"
                }
              }
            ],
            "edges": []
          },
          "created_at": "2025-01-02T03:04:05.000006+00:00",
          "updated_at": "2025-02-03T04:05:06.000007+00:00",
          "version": "1.0.0",
          "rich_metadata": {
            "search_keywords": [
              "greet"
            ],
            "execution_count": 3
          }
        }
        """
    )
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664])
def test_file_mode_is_kept(manager: WorkflowManager, saved: Path, mode: int):
    os.chmod(saved, mode)
    manager.update_metadata("flow", {"execution_count": 1})
    assert saved.stat().st_mode & 0o7777 == mode
    assert _files(saved.parent) == [".flow.json.lock", "flow.json"]


def test_updated_file_is_schema_valid(manager: WorkflowManager, saved: Path):
    manager.update_metadata(
        "flow",
        {
            "last_execution_timestamp": "2025-01-01T00:00:00Z",
            "last_execution_success": False,
            "last_execution_params": {"who": "Ada", "api_key": "<redacted>"},
            "last_execution_errors": [{"message": "boom", "category": "exception"}],
            "execution_count": 1,
        },
    )
    assert document_errors(SAVED_SCHEMA, _stored(saved)) == []


# -- refusals -----------------------------------------------------------------------------------


def test_unknown_name(manager: WorkflowManager, saved: Path):
    with pytest.raises(WorkflowNotFoundError) as info:
        manager.update_metadata("ghost", {"execution_count": 1})
    err = info.value
    assert isinstance(err, FileNotFoundError)
    assert err.message == "Workflow 'ghost' not found"
    assert err.path == str(manager.workflows_dir / "ghost.json")
    assert not (manager.workflows_dir / "ghost.json").exists()


def test_unknown_name_in_a_missing_directory(manager: WorkflowManager):
    with pytest.raises(FileNotFoundError):
        manager.update_metadata("ghost", {"execution_count": 1})
    assert not (manager.workflows_dir / "ghost.json").exists()


def test_invalid_name(manager: WorkflowManager):
    with pytest.raises(ParameterError):
        manager.update_metadata("../escape", {"execution_count": 1})


CORRUPT = [
    pytest.param(b'{"name": "flow", "ir": {}', id="truncated"),
    pytest.param(b'{"ir": {}, "ir": {"nodes": []}}', id="duplicate-key"),
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'{"name": "flow"}', id="no-ir"),
    pytest.param(b'{"ir": {}, "d": "\xff"}', id="not-utf8"),
    pytest.param(b"", id="empty"),
]


@pytest.mark.parametrize("content", CORRUPT)
def test_corrupt_file_is_left_byte_identical(manager: WorkflowManager, saved: Path, content: bytes):
    saved.write_bytes(content)
    with pytest.raises(WorkflowStorageError) as info:
        manager.update_metadata("flow", {"execution_count": 1})
    assert str(saved) in info.value.message
    assert saved.read_bytes() == content
    assert _files(saved.parent) == [".flow.json.lock", "flow.json"]


@pytest.mark.parametrize("junk", ["text", 5, ["a"], True])
def test_rich_metadata_that_is_not_an_object(manager: WorkflowManager, saved: Path, junk: Any):
    # Regression: this raised ValueError/TypeError, which crashed `pflow run NAME` after the run.
    data = _stored(saved)
    data["rich_metadata"] = junk
    saved.write_text(json.dumps(data), encoding="utf-8")
    before = saved.read_bytes()
    with pytest.raises(WorkflowStorageError) as info:
        manager.update_metadata("flow", {"execution_count": 1})
    assert "'rich_metadata' is not an object" in info.value.message
    assert saved.read_bytes() == before


@pytest.mark.parametrize(
    "updates",
    [
        pytest.param({"execution_count": -1}, id="negative-count"),
        pytest.param({"execution_count": "3"}, id="count-text"),
        pytest.param({"unknown_key": 1}, id="unknown-key"),
        pytest.param({"last_execution_params": {"token": "abc"}}, id="secret-not-redacted"),
        pytest.param({"last_execution_timestamp": "2025-01-01T00:00:00+02:00"}, id="not-utc"),
        pytest.param({"last_execution_errors": [{"message": "x"}]}, id="error-no-category"),
        pytest.param({"execution_count": lambda n: "many"}, id="callable-result"),
    ],
)
def test_update_breaking_the_schema_is_refused(
    manager: WorkflowManager, saved: Path, updates: dict[str, Any]
):
    before = saved.read_bytes()
    with pytest.raises(WorkflowStorageError) as info:
        manager.update_metadata("flow", updates)
    assert info.value.message.startswith(f"Refusing to write {saved}: ")
    assert "saved-workflow schema" in info.value.message
    assert saved.read_bytes() == before
    assert _files(saved.parent) == [".flow.json.lock", "flow.json"]


def test_value_that_is_not_json_is_refused(manager: WorkflowManager, saved: Path):
    before = saved.read_bytes()
    with pytest.raises(WorkflowStorageError):
        manager.update_metadata("flow", {"x-when": object()})
    assert saved.read_bytes() == before


def test_failing_callable_leaves_the_file(manager: WorkflowManager, saved: Path):
    before = saved.read_bytes()

    def broken(_stored: Any) -> Any:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        manager.update_metadata("flow", {"execution_count": broken})
    assert saved.read_bytes() == before
    manager.update_metadata("flow", {"execution_count": 1})  # the lock was released


# -- temp files, locks and failed writes ----------------------------------------------------------


def test_stale_temp_files_are_removed(manager: WorkflowManager, saved: Path):
    directory = saved.parent
    stale = directory / ".flow.json.0123456789ab.tmp"
    stale.write_text("half-written", encoding="utf-8")
    unrelated = directory / "notes.txt"
    unrelated.write_text("keep", encoding="utf-8")
    manager.update_metadata("flow", {"execution_count": 1})
    assert not stale.exists()
    assert unrelated.exists()
    assert _files(directory) == [".flow.json.lock", "flow.json", "notes.txt"]


def test_temp_file_of_another_workflow_is_kept(
    manager: WorkflowManager, saved: Path, sample_ir: dict[str, Any]
):
    # Regression: `.flow.json.*.tmp` also matched the live temp file of "flow.json.b",
    # which its own writer (holding a different lock) was about to rename.
    manager.save("flow.json.b", sample_ir)
    other_temp = saved.parent / ".flow.json.b.json.0123456789ab.tmp"
    other_temp.write_text("being written", encoding="utf-8")
    manager.update_metadata("flow", {"execution_count": 1})
    assert other_temp.read_text(encoding="utf-8") == "being written"


HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from filelock import FileLock
    with FileLock(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_lock_timeout(manager: WorkflowManager, saved: Path):
    manager = WorkflowManager(manager.workflows_dir, lock_timeout=0.1)
    before = saved.read_bytes()
    lock_path = saved.parent / ".flow.json.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(WorkflowStorageError) as info:
            manager.update_metadata("flow", {"execution_count": 1})
    finally:
        holder.communicate("", timeout=30)
    assert info.value.message == f"Timed out waiting for lock {lock_path}"
    assert saved.read_bytes() == before
    manager.update_metadata("flow", {"execution_count": 1})  # free again once released
    assert _stored(saved)["rich_metadata"] == {"execution_count": 1}


def test_lock_held_by_another_thread_is_waited_for(manager: WorkflowManager, saved: Path):
    from filelock import FileLock

    lock = FileLock(str(saved.parent / ".flow.json.lock"))
    lock.acquire()
    done = threading.Event()

    def update() -> None:
        manager.update_metadata("flow", {"execution_count": lambda n: (n or 0) + 1})
        done.set()

    worker = threading.Thread(target=update)
    worker.start()
    try:
        assert not done.wait(0.2)  # blocked while the lock is held
    finally:
        lock.release()
    worker.join(timeout=30)
    assert done.is_set()
    assert _stored(saved)["rich_metadata"]["execution_count"] == 1


def test_concurrent_increments_lose_nothing(manager: WorkflowManager, saved: Path):
    def work() -> None:
        own = WorkflowManager(manager.workflows_dir)
        for _ in range(10):
            own.update_metadata("flow", {"execution_count": lambda n: (n or 0) + 1})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert _stored(saved)["rich_metadata"]["execution_count"] == 40
    assert _files(saved.parent) == [".flow.json.lock", "flow.json"]


def test_failing_replace_keeps_the_old_file(
    manager: WorkflowManager, saved: Path, monkeypatch: pytest.MonkeyPatch
):
    before = saved.read_bytes()

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(WorkflowStorageError) as info:
        manager.update_metadata("flow", {"execution_count": 1})
    assert info.value.message == f"Cannot write workflow file {saved}: No space left on device"
    assert saved.read_bytes() == before
    assert _files(saved.parent) == [".flow.json.lock", "flow.json"]


def test_failing_fsync_keeps_the_old_file(
    manager: WorkflowManager, saved: Path, monkeypatch: pytest.MonkeyPatch
):
    before = saved.read_bytes()

    def io_error(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", io_error)
    with pytest.raises(WorkflowStorageError):
        manager.update_metadata("flow", {"execution_count": 1})
    assert saved.read_bytes() == before
    assert _files(saved.parent) == [".flow.json.lock", "flow.json"]


def test_lock_that_cannot_be_created(manager: WorkflowManager, saved: Path):
    lock_path = saved.parent / ".flow.json.lock"
    lock_path.unlink()
    lock_path.mkdir()  # works even as root, where a read-only directory would not stop us
    before = saved.read_bytes()
    with pytest.raises(WorkflowStorageError) as info:
        manager.update_metadata("flow", {"execution_count": 1})
    assert info.value.message.startswith(f"Cannot create lock {lock_path}: ")
    assert saved.read_bytes() == before


# -- files written before execution history existed -----------------------------------------------

OLD_IR = {
    "ir_version": "0.1.0",
    "nodes": [{"id": "greet", "type": "shell", "params": {"command": "echo hi ${name}"}}],
    "inputs": {"name": {"type": "string", "default": "World"}},
}


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        # As pflow 0.0.1 wrote them: compact, no trailing newline, mode 0600, "Z" timestamps.
        pytest.param(
            json.dumps(
                {
                    "name": "old",
                    "description": "Greets",
                    "ir": OLD_IR,
                    "created_at": "2024-05-01T10:00:00Z",
                    "updated_at": "2024-05-01T10:00:00Z",
                    "version": "1.0.0",
                }
            ),
            0o600,
            id="0.0.1",
        ),
        # As the manager wrote them before this change: no rich_metadata.
        pytest.param(
            json.dumps(
                {
                    "name": "old",
                    "description": "",
                    "ir": OLD_IR,
                    "created_at": "2026-11-26T15:26:57.349899+00:00",
                    "updated_at": "2026-11-26T15:26:57.349899+00:00",
                    "version": "1.0.0",
                },
                indent=2,
            )
            + "\n",
            0o644,
            id="pre-history",
        ),
    ],
)
def test_files_saved_before_the_change(manager: WorkflowManager, text: str, mode: int):
    manager.workflows_dir.mkdir(parents=True)
    path = manager.workflows_dir / "old.json"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    original = json.loads(text)
    assert manager.load("old") == original
    assert manager.load_ir("old") == OLD_IR
    manager.update_metadata("old", {"execution_count": lambda n: (n or 0) + 1})
    stored = _stored(path)
    assert stored["rich_metadata"] == {"execution_count": 1}
    assert stored["ir"] == OLD_IR
    assert stored["created_at"] == original["created_at"]
    assert stored["description"] == original["description"]
    assert list(stored) == [*original, "rich_metadata"]
    assert path.stat().st_mode & 0o7777 == mode
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert document_errors(SAVED_SCHEMA, stored) == []
