"""Execution history through the CLI: `pflow run NAME` records each run in the saved file.

Recording must never change what a run prints on stdout nor its exit code; when the record
cannot be written, one warning line on stderr says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from pflow.cli import state as cli_state
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.schemas import document_errors

WARNING = "Warning: the run was not recorded: "
SAVED_SCHEMA = "saved-workflow.schema.json"
FAILURE_STDERR = (
    "Error: Node 'fail' (shell) failed: Command failed with exit code 3: it broke\n"
    "  Node: fail (shell)\n"
    'Hint: Add an edge from \'fail\' with "action": "error" to handle this failure\n'
)
FAILURE_ERROR = {
    "message": "Node 'fail' (shell) failed: Command failed with exit code 3: it broke",
    "category": "execution_failure",
    "source": "runtime",
    "fixable": True,
    "node_id": "fail",
    "node_type": "shell",
    "hint": 'Add an edge from \'fail\' with "action": "error" to handle this failure',
    "action": "error",
}


@pytest.fixture
def greet(flows: Any, invoke: Any) -> dict[str, Any]:
    """Saved workflow `greet` (and greet.json): one input is a secret, used only in env."""
    ir = flows.ir(
        flows.shell_node("greet", "echo hi ${who}", env={"TOKEN": "${api_token}"}),
        inputs={
            "who": {"type": "string", "default": "World"},
            "api_token": {"type": "string", "default": ""},
        },
    )
    flows.write("greet.json", ir)
    assert invoke(["workflow", "save", "greet.json", "greet"]).code == 0
    return ir


@pytest.fixture
def failing(flows: Any, invoke: Any) -> dict[str, Any]:
    """Saved workflow `failing` (and failing.json): its only node exits 3."""
    ir = flows.ir(flows.shell_node("fail", "echo it broke >&2; exit 3"))
    flows.write("failing.json", ir)
    assert invoke(["workflow", "save", "failing.json", "failing"]).code == 0
    return ir


def stored(sandbox: Any, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (sandbox.workflows_dir / f"{name}.json").read_text(encoding="utf-8")
    )
    return data


def listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


# -- what is recorded -----------------------------------------------------------------------------


def test_run_by_name_records_history(greet: dict[str, Any], invoke: Any, sandbox: Any):
    saved_before = stored(sandbox, "greet")
    first = invoke(["run", "greet", "who=Ada", "api_token=s3cr3t-value"])
    assert (first.code, first.stdout, first.stderr) == (0, b"hi Ada\n", b"")
    after_one = stored(sandbox, "greet")
    history = after_one["rich_metadata"]
    assert history["execution_count"] == 1
    assert history["last_execution_success"] is True
    assert history["last_execution_params"] == {"who": "Ada", "api_token": "<redacted>"}
    assert history["last_execution_errors"] == []
    assert history["last_execution_timestamp"].endswith("+00:00")
    assert "s3cr3t-value" not in (sandbox.workflows_dir / "greet.json").read_text()
    # Everything else is as it was saved.
    for key in ("name", "description", "ir", "created_at", "version"):
        assert after_one[key] == saved_before[key]

    second = invoke(["greet"])  # the bare form runs the saved workflow too
    assert (second.code, second.stdout, second.stderr) == (0, b"hi World\n", b"")
    history = stored(sandbox, "greet")["rich_metadata"]
    assert history["execution_count"] == 2
    assert history["last_execution_params"] == {"who": "World", "api_token": "<redacted>"}
    assert document_errors(SAVED_SCHEMA, stored(sandbox, "greet")) == []
    assert listing(sandbox.workflows_dir) == [".greet.json.lock", "greet.json"]


def test_json_output_run_is_recorded(greet: dict[str, Any], invoke: Any, sandbox: Any):
    result = invoke(["run", "greet", "--output-format", "json"])
    assert result.code == 0
    assert result.json()["success"] is True
    assert stored(sandbox, "greet")["rich_metadata"]["execution_count"] == 1


def test_failing_run_by_name_records_the_error(failing: dict[str, Any], invoke: Any, sandbox: Any):
    by_name = invoke(["run", "failing"])
    assert (by_name.code, by_name.stdout) == (1, b"")
    assert by_name.err == FAILURE_STDERR
    assert by_name.stderr == invoke(["run", "./failing.json"]).stderr  # as for a file
    history = stored(sandbox, "failing")["rich_metadata"]
    assert history["last_execution_success"] is False
    assert history["last_execution_errors"] == [FAILURE_ERROR]
    assert history["execution_count"] == 1
    assert document_errors(SAVED_SCHEMA, stored(sandbox, "failing")) == []


def test_failing_run_json_document_is_unchanged(failing: dict[str, Any], invoke: Any, sandbox: Any):
    by_name = invoke(["run", "failing", "--output-format", "json"])
    by_file = invoke(["run", "./failing.json", "--output-format", "json"])
    assert by_name.code == by_file.code == 1
    assert by_name.stderr == by_file.stderr == b""
    name_doc, file_doc = by_name.json(), by_file.json()
    assert name_doc["workflow"] == {"action": "reused", "name": "failing"}
    assert name_doc["error"] == file_doc["error"]
    assert name_doc["error"]["type"] == "WorkflowFailedError"
    assert list(name_doc) == list(file_doc)
    assert stored(sandbox, "failing")["rich_metadata"]["last_execution_success"] is False


def test_success_after_failure_clears_the_errors(flows: Any, invoke: Any, sandbox: Any):
    flows.write(
        "maybe.json",
        flows.ir(
            flows.shell_node("maybe", 'test "${ok}" = yes'),
            inputs={"ok": {"type": "string"}},
        ),
    )
    assert invoke(["workflow", "save", "maybe.json", "maybe"]).code == 0
    assert invoke(["maybe", "ok=no"]).code == 1
    assert stored(sandbox, "maybe")["rich_metadata"]["last_execution_errors"] != []
    assert invoke(["maybe", "ok=yes"]).code == 0
    history = stored(sandbox, "maybe")["rich_metadata"]
    assert history["last_execution_errors"] == []
    assert history["last_execution_success"] is True
    assert history["last_execution_params"] == {"ok": "yes"}
    assert history["execution_count"] == 2


def test_exception_in_a_node_is_recorded(flows: Any, invoke: Any, sandbox: Any):
    flows.write("danger.json", flows.ir(flows.shell_node("wipe", "rm -rf /")))
    assert invoke(["workflow", "save", "danger.json", "danger"]).code == 0
    result = invoke(["danger"])
    assert result.code == 1
    assert result.err.startswith("Error: Node 'wipe' (shell): refusing to run a command")
    (error,) = stored(sandbox, "danger")["rich_metadata"]["last_execution_errors"]
    assert error["category"] == "exception"
    assert error["exception_type"] == "NodeExecutionError"
    assert error["node_id"] == "wipe"


def test_existing_metadata_is_kept(greet: dict[str, Any], invoke: Any, sandbox: Any):
    path = sandbox.workflows_dir / "greet.json"
    data = json.loads(path.read_text())
    data["rich_metadata"] = {"search_keywords": ["hello"], "execution_count": 41, "x-note": "n"}
    path.write_text(json.dumps(data, indent=2) + "\n")
    assert invoke(["greet"]).code == 0
    history = stored(sandbox, "greet")["rich_metadata"]
    assert history["search_keywords"] == ["hello"]
    assert history["x-note"] == "n"
    assert history["execution_count"] == 42


def test_file_saved_before_history_runs_unchanged(flows: Any, invoke: Any, sandbox: Any):
    """A file as pflow 0.0.1 wrote it: compact, no trailing newline, mode 0600."""
    ir = flows.ir(flows.shell_node("hello", "echo old"))
    sandbox.workflows_dir.mkdir(parents=True)
    path = sandbox.workflows_dir / "old.json"
    wrapper = {
        "name": "old",
        "description": "Old",
        "ir": ir,
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
        "version": "1.0.0",
    }
    path.write_text(json.dumps(wrapper))
    os.chmod(path, 0o600)
    result = invoke(["old"])
    assert (result.code, result.stdout, result.stderr) == (0, b"old\n", b"")
    data = stored(sandbox, "old")
    assert data["rich_metadata"]["execution_count"] == 1
    assert {k: data[k] for k in wrapper if k != "updated_at"} == {
        k: v for k, v in wrapper.items() if k != "updated_at"
    }
    assert path.stat().st_mode & 0o777 == 0o600
    assert document_errors(SAVED_SCHEMA, data) == []


def test_running_a_file_touches_no_saved_file(greet: dict[str, Any], invoke: Any, sandbox: Any):
    path = sandbox.workflows_dir / "greet.json"
    before = (path.read_bytes(), path.stat().st_mtime_ns, listing(sandbox.workflows_dir))
    assert invoke(["run", "greet.json", "who=Ada"]).stdout == b"hi Ada\n"
    assert invoke(["run", "./greet.json", "--output-format", "json"]).code == 0
    # Even the saved file itself, run as a file, is not a run "by name".
    assert invoke(["run", str(path)]).stdout == b"hi World\n"
    after = (path.read_bytes(), path.stat().st_mtime_ns, listing(sandbox.workflows_dir))
    assert after == before


def test_missing_required_parameter_is_reported_as_before_and_recorded(
    flows: Any, invoke: Any, sandbox: Any
):
    flows.write(
        "needs.json",
        flows.ir(flows.shell_node("x", "echo ${name}"), inputs={"name": {"type": "string"}}),
    )
    assert invoke(["workflow", "save", "needs.json", "needs"]).code == 0
    by_name = invoke(["needs", "api_token=s3cret"])
    by_file = invoke(["run", "./needs.json", "api_token=s3cret"])
    assert by_name.code == by_file.code == 3
    assert by_name.stderr == by_file.stderr
    assert WARNING not in by_name.err
    history = stored(sandbox, "needs")["rich_metadata"]
    assert history["execution_count"] == 1
    assert history["last_execution_success"] is False
    assert history["last_execution_params"] == {"api_token": "<redacted>"}
    (error,) = history["last_execution_errors"]
    assert error["category"] == "validation"
    assert error["exception_type"] == "ParameterError"
    assert error["message"].startswith("Invalid parameters:")


# -- a record that cannot be written --------------------------------------------------------------


def _block_writes(sandbox: Any, name: str) -> str:
    """Make recording a run of `name` fail; returns how.

    A read-only workflows directory does it for ordinary users. Root ignores directory
    permissions, so then the lock file is replaced by a directory: the lock cannot be taken.
    """
    directory = sandbox.workflows_dir
    os.chmod(directory, 0o555)
    probe = directory / ".write-probe"
    try:
        probe.touch()
    except PermissionError:
        return "read-only directory"
    probe.unlink()
    os.chmod(directory, 0o755)
    lock = directory / f".{name}.json.lock"
    lock.unlink(missing_ok=True)
    lock.mkdir()
    return "lock is a directory"


@pytest.fixture
def restore_permissions(sandbox: Any) -> Iterator[None]:
    yield
    if sandbox.workflows_dir.exists():
        os.chmod(sandbox.workflows_dir, 0o755)


def _without_warning(stderr: str) -> str:
    lines = stderr.splitlines(keepends=True)
    warnings = [line for line in lines if line.startswith(WARNING)]
    assert len(warnings) == 1, stderr
    assert warnings[0].endswith("\n")
    return "".join(line for line in lines if not line.startswith(WARNING))


def _untimed(document: dict[str, Any]) -> dict[str, Any]:
    """A JSON run document without the timings, which differ from run to run."""
    assert isinstance(document.pop("duration_ms"), float)
    metrics = document.pop("metrics")
    workflow = metrics.get("workflow", {})
    return {
        **document,
        "nodes_timed": sorted(workflow.get("node_timings", {})),
        "total": metrics["total"],
    }


CASES = [
    pytest.param("greet", ["who=Ada"], "text", id="success-text"),
    pytest.param("greet", ["who=Ada"], "json", id="success-json"),
    pytest.param("failing", [], "text", id="failure-text"),
    pytest.param("failing", [], "json", id="failure-json"),
]


@pytest.mark.usefixtures("greet", "failing", "restore_permissions")
@pytest.mark.parametrize(("name", "params", "output_format"), CASES)
def test_unwritable_directory_changes_only_stderr(
    run_pflow: Any, sandbox: Any, name: str, params: list[str], output_format: str
):
    args = ["run", name, *params, "--output-format", output_format]
    baseline = run_pflow(args)
    path = sandbox.workflows_dir / f"{name}.json"
    before = path.read_bytes()
    files_before = listing(sandbox.workflows_dir)
    how = _block_writes(sandbox, name)
    blocked = run_pflow(args)
    assert blocked.code == baseline.code, how
    assert _without_warning(blocked.err) == baseline.err
    if output_format == "json":
        assert _untimed(blocked.json()) == _untimed(baseline.json())
    else:
        assert blocked.stdout == baseline.stdout
    assert path.read_bytes() == before  # the old record is intact
    assert [f for f in listing(sandbox.workflows_dir) if f.endswith(".tmp")] == []
    assert len(listing(sandbox.workflows_dir)) == len(files_before)


@pytest.mark.usefixtures("failing")
def test_full_disk_warns_once(invoke: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch):
    baseline = invoke(["run", "failing"])
    path = sandbox.workflows_dir / "failing.json"
    before = path.read_bytes()

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    result = invoke(["run", "failing"])
    assert (result.code, result.stdout) == (baseline.code, baseline.stdout) == (1, b"")
    history, record, rest = result.err.split("\n", 2)
    assert (
        history + "\n" == f"{WARNING}Cannot write workflow file {path}: No space left on device\n"
    )
    # The run record's final write fails on the same disk: its own single warning line.
    assert record.startswith("Warning: could not write the run record in ")
    assert record.endswith(": No space left on device")
    assert rest == FAILURE_STDERR
    assert path.read_bytes() == before
    assert listing(sandbox.workflows_dir) == [".failing.json.lock", "failing.json"]


@pytest.mark.usefixtures("greet")
def test_lock_timeout_warns_once(invoke: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch):
    baseline = invoke(["run", "greet", "--output-format", "json"])
    path = sandbox.workflows_dir / "greet.json"
    before = path.read_bytes()
    lock_path = sandbox.workflows_dir / ".greet.json.lock"
    # The CLI builds its one manager in pflow.cli.state: give it a short lock timeout.
    monkeypatch.setattr(cli_state, "WorkflowManager", partial(WorkflowManager, lock_timeout=0.05))
    with FileLock(str(lock_path)):  # as if another pflow process were writing the file
        blocked = invoke(["run", "greet", "--output-format", "json"])
    assert blocked.code == baseline.code == 0
    assert _untimed(blocked.json()) == _untimed(baseline.json())
    assert blocked.err == f"{WARNING}Timed out waiting for lock {lock_path}\n"
    assert path.read_bytes() == before


@pytest.mark.usefixtures("greet")
def test_malformed_metadata_warns_instead_of_crashing(invoke: Any, sandbox: Any):
    # Regression: a non-object rich_metadata raised ValueError after the run (a traceback).
    path = sandbox.workflows_dir / "greet.json"
    data = json.loads(path.read_text())
    data["rich_metadata"] = "not an object"
    path.write_text(json.dumps(data, indent=2) + "\n")
    before = path.read_bytes()
    result = invoke(["greet"])
    assert (result.code, result.stdout) == (0, b"hi World\n")
    assert result.err == (
        f"{WARNING}Saved workflow {path} is malformed: 'rich_metadata' is not an object\n"
    )
    assert path.read_bytes() == before
