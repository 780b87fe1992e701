"""WorkflowExecutorService(abort_on_first_error=False): keep-going runs as data.

The service runs node by node; every failing node (unhandled error action or exception) and
every node skipped because it needs a failed or skipped node's outputs gets one entry in
`ExecutionResult.errors`, in execution order. Workflows use the built-in shell node only; every
test runs under its own HOME and PFLOW_HOME.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from service_support import assert_schema_valid, comparable, shell, workflow

import pflow.core.workflow_executor_service as service_module
from pflow.core import run_errors
from pflow.core.execution_history import MAX_ERRORS
from pflow.core.metrics import MetricsCollector
from pflow.core.output_controller import OutputController
from pflow.core.run_errors import keep_going_failure
from pflow.core.workflow_executor_service import (
    ExecutionResult,
    WorkflowExecutorService,
    WorkflowInterrupted,
)
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.exceptions import NodeParamError, WorkflowFailedError
from pflow.foundation.json_safe import to_json_safe
from pflow.foundation.schemas import document_errors

SAVED_SCHEMA = "saved-workflow.schema.json"

# -- helpers ----------------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("isolated_home")


def run(ir: dict[str, Any], keep_going: bool = True, **kwargs: Any) -> ExecutionResult:
    service = WorkflowExecutorService(abort_on_first_error=not keep_going)
    return service.execute_workflow(ir, {}, **kwargs)


def failed(node_id: str, code: int) -> dict[str, Any]:
    """The error entry of shell node `node_id` that printed `<node_id> broke` and exited `code`."""
    return {
        "message": f"Node '{node_id}' (shell) failed: Command failed with exit code {code}: "
        f"{node_id} broke",
        "category": "execution_failure",
        "source": "runtime",
        "fixable": True,
        "node_id": node_id,
        "node_type": "shell",
        "hint": f'Add an edge from \'{node_id}\' with "action": "error" to handle this failure',
        "action": "error",
    }


def skipped(node_id: str, waiting_for: str) -> dict[str, Any]:
    return {
        "message": f"Node '{node_id}' (shell) was skipped: it needs the outputs of "
        f"'{waiting_for}', which did not run successfully",
        "category": "skipped",
        "source": "runtime",
        "node_id": node_id,
        "node_type": "shell",
        "waiting_for": waiting_for,
        "fixable": True,
    }


def breaks(node_id: str, code: int) -> dict[str, Any]:
    return shell(node_id, f"echo '{node_id} broke' >&2; exit {code}")


def reads(node_id: str, source: str) -> dict[str, Any]:
    return shell(node_id, 'echo "$IN"', env={"IN": f"${{{source}.stdout}}"})


@pytest.fixture
def mixed(tmp_path: Path) -> dict[str, Any]:
    """fetch fails; parse and report need it; lint runs; cd raises; tests fails; docs runs."""
    return workflow(
        breaks("fetch", 7),
        reads("parse", "fetch"),
        reads("report", "parse"),
        shell("lint", "echo lint ok"),
        shell("cd", "pwd", cwd=str(tmp_path / "missing")),
        reads("uses_cd", "cd"),
        breaks("tests", 1),
        shell("docs", "echo docs ok"),
    )


# -- the errors of a keep-going run -------------------------------------------------------------


def test_errors_hold_every_failure_and_skip_in_execution_order(
    mixed: dict[str, Any], tmp_path: Path
):
    result = run(mixed)
    assert result.success is False
    assert result.exception is None
    assert result.errors == [
        failed("fetch", 7),
        skipped("parse", "fetch"),
        skipped("report", "parse"),
        {
            "message": f"Node 'cd' (shell): working directory '{tmp_path / 'missing'}' "
            "does not exist",
            "category": "exception",
            "source": "runtime",
            "exception_type": "NodeParamError",
            "fixable": True,
            "node_id": "cd",
            "node_type": "shell",
            "pointer": "/nodes/4/params/cwd",
            "hint": "Set 'cwd' to an existing directory, or create it in an earlier step",
        },
        skipped("uses_cd", "cd"),
        failed("tests", 1),
    ]
    assert result.action_result == "default"  # docs, the last node, succeeded
    assert result.last_node_id == "docs"
    assert result.node_count == 8
    shared = result.shared_after
    assert shared["lint"]["stdout"] == "lint ok\n"
    assert shared["docs"]["stdout"] == "docs ok\n"
    for never in ("parse", "report", "uses_cd"):
        assert never not in shared


def test_every_entry_names_its_node_type_category_and_message(mixed: dict[str, Any]):
    for entry in run(mixed).errors:
        assert entry["node_type"] == "shell"
        assert entry["category"] in {"execution_failure", "exception", "skipped"}
        assert entry["message"].startswith(f"Node '{entry['node_id']}' (shell)")
        assert ("waiting_for" in entry) is (entry["category"] == "skipped")


@pytest.mark.parametrize("with_metrics", [False, True])
def test_to_dict_validates_against_the_schema(mixed: dict[str, Any], with_metrics: bool):
    metrics = MetricsCollector() if with_metrics else None
    result = run(mixed, metrics_collector=metrics)
    data = assert_schema_valid(result)
    assert [e["category"] for e in data["errors"]] == [
        "execution_failure",
        "skipped",
        "skipped",
        "exception",
        "skipped",
        "execution_failure",
    ]
    if with_metrics:
        assert data["metrics_summary"]["nodes_executed"] == 5  # skipped nodes did not run


def test_abort_mode_gives_one_error_for_the_same_workflow(mixed: dict[str, Any]):
    abort = run(mixed, keep_going=False)
    keep = run(mixed)
    assert abort.errors == [failed("fetch", 7)]
    assert abort.errors == keep.errors[:1]
    assert abort.action_result == "error"
    assert abort.last_node_id == "fetch"
    assert set(abort.shared_after) == {"fetch"}
    assert_schema_valid(abort)


def test_three_independent_failures_three_errors_versus_one(tmp_path: Path):
    ir = workflow(
        breaks("a", 3), shell("x", "true"), breaks("b", 4), shell("y", "true"), breaks("c", 5)
    )
    assert run(ir).errors == [failed("a", 3), failed("b", 4), failed("c", 5)]
    assert run(ir, keep_going=False).errors == [failed("a", 3)]


def test_an_exception_entry_keeps_the_exception_out_of_result_exception(tmp_path: Path):
    result = run(workflow(shell("cd", "pwd", cwd=str(tmp_path / "nope")), shell("b", "true")))
    assert [e["exception_type"] for e in result.errors] == ["NodeParamError"]
    assert result.exception is None  # the walk went on: no exception ended the run
    abort = run(workflow(shell("cd", "pwd", cwd=str(tmp_path / "nope"))), keep_going=False)
    assert isinstance(abort.exception, NodeParamError)
    assert abort.errors == result.errors


# -- workflows whose outcome does not depend on the mode ---------------------------------------


HANDLED = workflow(
    breaks("fetch", 2),
    shell("fallback", 'echo "fallback after $CODE"', env={"CODE": "${fetch.exit_code}"}),
    reads("use", "fetch"),
    edges=[
        {"from": "fetch", "to": "use"},
        {"from": "fetch", "to": "fallback", "action": "error"},
    ],
)
HANDLER_FAILS = workflow(
    breaks("fetch", 2),
    breaks("fallback", 5),
    edges=[{"from": "fetch", "to": "fallback", "action": "error"}],
)
SUCCESS = workflow(shell("a", "echo hi"), reads("b", "a"), outputs={"o": {"source": "${b.stdout}"}})
INVALID = workflow(shell("a", "echo ${nope}"))


@pytest.mark.parametrize(
    "ir",
    [HANDLED, HANDLER_FAILS, SUCCESS, INVALID],
    ids=["handled", "handler-fails", "success", "invalid"],
)
def test_both_modes_agree_on_workflows_that_handle_their_errors(ir: dict[str, Any]):
    keep = run(ir)
    abort = run(ir, keep_going=False)
    assert comparable(keep) == comparable(abort)
    assert keep.success is abort.success
    assert len(keep.errors) <= 1


def test_a_handled_failure_is_a_success_in_keep_going_mode():
    result = run(HANDLED)
    assert result.success is True
    assert result.errors == []
    assert result.shared_after["fallback"]["stdout"] == "fallback after 2\n"
    assert "use" not in result.shared_after


def test_a_successful_keep_going_run_copies_declared_outputs():
    result = run(SUCCESS)
    assert result.success is True
    assert result.shared_after["o"] == "hi\n\n"


def test_a_failed_keep_going_run_does_not_copy_declared_outputs():
    ir = workflow(breaks("a", 1), shell("b", "echo b"), outputs={"o": {"source": "${b.stdout}"}})
    result = run(ir)
    assert result.success is False
    assert result.shared_after["b"]["stdout"] == "b\n"
    assert "o" not in result.shared_after


# -- execution history of saved workflows ------------------------------------------------------


def _saved(ir: dict[str, Any]) -> tuple[WorkflowManager, Path]:
    manager = WorkflowManager()
    return manager, manager.save("kg", ir)


def test_history_lists_every_error_of_a_keep_going_run(mixed: dict[str, Any]):
    manager, path = _saved(mixed)
    service = WorkflowExecutorService(workflow_manager=manager, abort_on_first_error=False)
    result = service.execute_workflow(mixed, {}, workflow_name="kg")
    assert result.metadata_error is None
    stored = json.loads(path.read_text(encoding="utf-8"))
    metadata = stored["rich_metadata"]
    assert metadata["last_execution_success"] is False
    assert metadata["execution_count"] == 1
    assert metadata["last_execution_errors"] == to_json_safe(result.errors)
    assert len(metadata["last_execution_errors"]) == 6
    assert document_errors(SAVED_SCHEMA, stored) == []


def test_history_keeps_the_first_twenty_errors():
    count = MAX_ERRORS + 5
    ir = workflow(*(breaks(f"n{i:02d}", 1) for i in range(count)))
    manager, path = _saved(ir)
    service = WorkflowExecutorService(workflow_manager=manager, abort_on_first_error=False)
    result = service.execute_workflow(ir, {}, workflow_name="kg")
    assert len(result.errors) == count  # the result itself is complete
    stored = json.loads(path.read_text(encoding="utf-8"))
    recorded = stored["rich_metadata"]["last_execution_errors"]
    assert MAX_ERRORS == 20
    assert [e["node_id"] for e in recorded] == [f"n{i:02d}" for i in range(20)]
    assert recorded == to_json_safe(result.errors[:20])
    assert document_errors(SAVED_SCHEMA, stored) == []


# -- the summary error ------------------------------------------------------------------------


def _entries(failures: int, skips: int) -> list[dict[str, Any]]:
    return [failed(f"f{i}", 1) for i in range(failures)] + [
        skipped(f"s{i}", "f0") for i in range(skips)
    ]


@pytest.mark.parametrize(
    ("failures", "skips", "message"),
    [
        (1, 0, "1 node failed"),
        (2, 0, "2 nodes failed"),
        (1, 1, "1 node failed and 1 was skipped"),
        (2, 1, "2 nodes failed and 1 was skipped"),
        (1, 2, "1 node failed and 2 were skipped"),
        (3, 4, "3 nodes failed and 4 were skipped"),
    ],
)
def test_keep_going_failure_message_grammar(failures: int, skips: int, message: str):
    error = keep_going_failure(_entries(failures, skips))
    assert isinstance(error, WorkflowFailedError)
    assert error.message == message


def test_keep_going_failure_lists_each_entry_in_its_details(mixed: dict[str, Any]):
    result = run(mixed)
    error = keep_going_failure(result.errors)
    assert error.message == "3 nodes failed and 3 were skipped"
    assert error.details == "\n".join(f"- {e['message']}" for e in result.errors)
    assert error.details.splitlines()[1] == (
        "- Node 'parse' (shell) was skipped: it needs the outputs of 'fetch', "
        "which did not run successfully"
    )
    assert error.hint == (
        "Nodes that did not depend on a failed node ran; fix the failures listed above"
    )
    assert error.node_id is None  # several nodes are concerned


def test_helpers_stay_importable_from_the_service_module():
    # docs/service-api.md lists them as exports of pflow.core.workflow_executor_service.
    for name in ("exception_error", "error_action_failure", "failure_error", "is_fixable"):
        assert getattr(service_module, name) is getattr(run_errors, name)


# -- progress ---------------------------------------------------------------------------------


@pytest.fixture
def terminal() -> Iterator[IO[str]]:
    master, slave = os.openpty()
    stream = open(slave, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    yield stream
    stream.close()
    os.close(master)


def test_skipped_nodes_appear_in_the_progress_display(terminal: IO[str]):
    stderr = io.StringIO()
    controller = OutputController(False, "text", stdin=terminal, stdout=terminal, stderr=stderr)
    ir = workflow(breaks("fetch", 3), reads("parse", "fetch"), shell("lint", "true"))
    service = WorkflowExecutorService(output_controller=controller, abort_on_first_error=False)
    result = service.execute_workflow(ir, {})
    assert [e["category"] for e in result.errors] == ["execution_failure", "skipped"]
    assert re.sub(r"✓ \d+\.\ds", "✓ <T>s", stderr.getvalue()) == (
        "Executing workflow (3 nodes):\n"
        "  fetch... ✗ Command failed with exit code 3: fetch broke\n"
        "  parse... skipped (needs 'fetch')\n"
        "  lint... ✓ <T>s\n"
    )


# -- Ctrl-C -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("probe_registry")
def test_ctrl_c_keeps_the_failures_recorded_before_it():
    ir = workflow(
        breaks("a", 3),
        reads("b", "a"),
        {"id": "stop", "type": "interrupt-probe"},
        shell("never", "echo never"),
    )
    with pytest.raises(WorkflowInterrupted) as info:
        run(ir)
    result = info.value.result
    assert [e["category"] for e in result.errors] == ["execution_failure", "skipped", "exception"]
    assert result.errors[:2] == [failed("a", 3), skipped("b", "a")]
    assert result.errors[2]["exception_type"] == "KeyboardInterrupt"
    assert "never" not in result.shared_after
    assert_schema_valid(result)
    with pytest.raises(WorkflowInterrupted) as aborted:
        run(workflow({"id": "stop", "type": "interrupt-probe"}), keep_going=False)
    assert [e["exception_type"] for e in aborted.value.result.errors] == ["KeyboardInterrupt"]


def test_hyphenated_node_ids_are_dependencies_too(tmp_path: Path):
    # `${first-step.stdout}` names the node `first-step`: its reader is skipped, not run.
    marker = tmp_path / "ran"
    ir = workflow(
        breaks("first-step", 2),
        reads("second_step", "first-step"),
        shell("third", f"touch {shlex.quote(str(marker))}"),
    )
    result = run(ir)
    assert [(e["node_id"], e.get("waiting_for")) for e in result.errors] == [
        ("first-step", None),
        ("second_step", "first-step"),
    ]
    assert marker.exists()
