"""Tests for pflow.core.workflow_executor_service: the front-end-neutral way to run a workflow.

Workflows here use the built-in shell node (no network, no LLM). Every test runs under its own
PFLOW_HOME and HOME, so nothing touches the real home directory.
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from service_support import (
    RESULT_SCHEMA,
    assert_schema_valid,
    comparable,
    run_doc_example,
    shell,
    workflow,
)

import pflow.core.workflow_executor_service as service_module
from pflow.core.metrics import MetricsCollector
from pflow.core.output_controller import OutputController
from pflow.core.run_errors import exception_error, is_fixable
from pflow.core.workflow_executor_service import (
    ExecutionResult,
    WorkflowExecutorService,
    WorkflowInterrupted,
)
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.exceptions import (
    CompilationError,
    NodeExecutionError,
    NodeParamError,
    SchemaValidationError,
    TemplateResolutionError,
    TemplateValidationError,
    WorkflowStorageError,
)
from pflow.foundation.json_safe import to_json_safe
from pflow.foundation.schemas import document_errors
from pflow.registry import Registry
from pflow.runtime.trace import WorkflowTraceCollector

ERROR_KEYS = {
    "message",
    "category",
    "source",
    "node_id",
    "node_type",
    "action",
    "exception_type",
    "fixable",
    "pointer",
    "hint",
    "details",
    "waiting_for",
}
ERROR_ACTION_HINT = 'Add an edge from \'a\' with "action": "error" to handle this failure'


# -- helpers ----------------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("isolated_home")


def run(ir: dict[str, Any], params: dict[str, Any] | None = None, **kwargs: Any) -> ExecutionResult:
    return WorkflowExecutorService().execute_workflow(ir, params or {}, **kwargs)


OK = workflow(shell("a", "echo hello"), shell("b", "printf '%s!' \"${a.stdout}\""))
ERROR_ACTION = workflow(shell("a", "echo boom >&2; exit 3"), shell("b", "echo never"))
RUNTIME_EXCEPTION = workflow(shell("a", "rm -rf /"), shell("b", "echo never"))
COMPILE_ERROR = workflow(shell("a", "echo ${nope}"))
HANDLED_ERROR = workflow(
    shell("a", "exit 1"),
    shell("handler", "echo handled"),
    edges=[{"from": "a", "to": "handler", "action": "error"}],
)


# -- success ----------------------------------------------------------------------------------


def test_success_result_fields():
    ir = workflow(
        shell("a", "echo hello ${who}"),
        shell("b", "cat", stdin="${a.stdout}"),
        inputs={"who": {"type": "string"}},
        outputs={"greeting": {"source": "${b.stdout}"}},
    )
    result = run(ir, {"who": "Ada"}, stdin_data="piped text")
    assert result.success is True
    assert result.action_result == "default"
    assert result.errors == []
    assert result.exception is None
    assert result.node_count == 2
    assert result.duration >= 0
    assert result.last_node_id == "b"
    assert result.metrics_summary is None
    assert result.metadata_error is None
    shared = result.shared_after
    assert shared["who"] == "Ada"  # run parameters live at the root of the store
    assert shared["stdin"] == "piped text"
    assert shared["a"] == {"stdout": "hello Ada\n", "stderr": "", "exit_code": 0}
    assert shared["b"]["stdout"] == "hello Ada\n"
    assert shared["greeting"] == "hello Ada\n"  # declared outputs are copied to the root
    assert "__llm_calls__" not in shared
    data = assert_schema_valid(result)
    assert data["shared_after"] == shared


def test_execution_params_none_and_caller_dict_untouched():
    assert run(OK, None).success
    params = {"who": "Ada"}
    ir = workflow(shell("a", "echo ${who}"), inputs={"who": {"type": "string"}})
    result = run(ir, params)
    assert result.shared_after["a"]["stdout"] == "Ada\n"
    assert params == {"who": "Ada"}
    assert result.shared_after is not params


def test_error_routed_to_a_handler_is_a_success():
    result = run(HANDLED_ERROR)
    assert result.success is True
    assert result.errors == []
    assert result.shared_after["a"]["exit_code"] == 1
    assert result.shared_after["handler"]["stdout"] == "handled\n"
    assert result.last_node_id == "handler"


class CountingRegistry(Registry):
    """A registry that counts the node types it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.required: list[str] = []

    def require(self, name: str) -> Any:
        self.required.append(name)
        return super().require(name)


def test_one_service_runs_many_workflows_with_fresh_stores():
    service = WorkflowExecutorService()
    first = service.execute_workflow(workflow(shell("one", "echo 1")), {"x": 1})
    second = service.execute_workflow(workflow(shell("two", "echo 2")), {})
    assert first.success and second.success
    assert "one" not in second.shared_after
    assert "x" not in second.shared_after
    assert service.registry is None  # by default each run builds its own Registry()


def test_an_injected_registry_serves_every_run():
    registry = CountingRegistry()
    service = WorkflowExecutorService(registry=registry)
    assert service.execute_workflow(workflow(shell("one", "echo 1")), {}).success
    assert service.execute_workflow(
        workflow(shell("two", "echo 2"), shell("b", "true")), {}
    ).success
    assert registry.required.count("shell") >= 3  # each node of both runs looked up in it


def test_an_injected_registry_decides_which_types_exist():
    class NoShell(Registry):
        def get(self, name: str) -> Any:
            return None if name == "shell" else super().get(name)

    result = WorkflowExecutorService(registry=NoShell()).execute_workflow(
        workflow(shell("one", "echo 1")), {}
    )
    assert not result.success
    assert "Unknown node type" in result.errors[0]["message"]


# -- error action -----------------------------------------------------------------------------


def test_error_action_gives_one_structured_error():
    result = run(ERROR_ACTION)
    assert result.success is False
    assert result.action_result == "error"
    assert result.exception is None
    assert result.last_node_id == "a"
    assert "b" not in result.shared_after
    assert result.shared_after["a"]["error"] == "Command failed with exit code 3: boom"
    (error,) = result.errors
    assert error == {
        "message": "Node 'a' (shell) failed: Command failed with exit code 3: boom",
        "category": "execution_failure",
        "source": "runtime",
        "node_id": "a",
        "node_type": "shell",
        "action": "error",
        "fixable": True,
        "hint": ERROR_ACTION_HINT,
    }
    assert_schema_valid(result)


def test_error_action_without_an_error_message():
    # `ignore_errors` off, no stderr: the node's error text is only the exit code.
    result = run(workflow(shell("a", "exit 4")))
    (error,) = result.errors
    assert error["message"] == "Node 'a' (shell) failed: Command failed with exit code 4"
    assert error["category"] == "execution_failure"


# -- exceptions while running -----------------------------------------------------------------

RUNTIME_CASES = [
    pytest.param(
        workflow(shell("a", "echo hi", timeout="${t}"), inputs={"t": {"type": "string"}}),
        {"t": "soon"},
        None,
        NodeParamError,
        "Node 'a' (shell): parameter 'timeout' must be a number, got string 'soon'",
        "/nodes/0/params/timeout",
        id="NodeParamError-templated-wrong-type",
    ),
    pytest.param(
        workflow(shell("a", "echo ${cfg.missing}"), inputs={"cfg": {"type": "object"}}),
        {"cfg": {"present": 1}},
        None,
        TemplateResolutionError,
        "Template ${cfg.missing} in node 'a' (param 'command') has no value when the node runs",
        "/nodes/0/params/command",
        id="TemplateResolutionError-missing-key",
    ),
    pytest.param(
        workflow(shell("a", "echo ${stdin}")),
        {},
        b"\xff\xfe",
        TemplateResolutionError,
        "Template ${stdin} in node 'a' (param 'command') is binary data (2 bytes), not text",
        "/nodes/0/params/command",
        id="TemplateResolutionError-binary",
    ),
    pytest.param(
        workflow(shell("a", "rm -rf /")),
        {},
        None,
        NodeExecutionError,
        "Node 'a' (shell): refusing to run a command that would delete the root filesystem: "
        "'rm -rf /'",
        "/nodes/0/params/command",
        id="NodeExecutionError-dangerous-command",
    ),
]


@pytest.mark.parametrize(("ir", "params", "stdin", "exc_type", "message", "pointer"), RUNTIME_CASES)
def test_exception_while_running(
    ir: dict[str, Any],
    params: dict[str, Any],
    stdin: bytes | None,
    exc_type: type[Exception],
    message: str,
    pointer: str,
):
    result = run(ir, params, stdin_data=stdin)
    assert result.success is False
    assert result.action_result is None
    assert type(result.exception) is exc_type
    assert result.last_node_id == "a"
    (error,) = result.errors
    assert set(error) <= ERROR_KEYS
    assert error["message"] == message == result.exception.message
    assert error["category"] == "exception"
    assert error["source"] == "runtime"
    assert error["exception_type"] == exc_type.__name__
    assert error["node_id"] == "a"
    assert error["node_type"] == "shell"
    assert error["pointer"] == pointer
    assert error["fixable"] is True
    # Parameters were written to the store before the node raised.
    for key in params:
        assert key in result.shared_after
    assert_schema_valid(result)


def test_exception_stops_the_run():
    result = run(RUNTIME_EXCEPTION)
    assert "b" not in result.shared_after
    assert result.last_node_id == "a"


def test_wrong_typed_timeout_param_is_fixable():
    # Regression: the word "timeout" in the message made every bad `timeout` param unfixable.
    ir = workflow(shell("a", "echo", timeout="${t}"), inputs={"t": {"type": "string"}})
    (error,) = run(ir, {"t": "x"}).errors
    assert "timeout" in error["message"]
    assert error["fixable"] is True


# -- invalid workflows --------------------------------------------------------------------------

COMPILE_CASES = [
    pytest.param(
        workflow(shell("a", "echo hi"), bogus=1),
        SchemaValidationError,
        "Invalid workflow at /: unknown key 'bogus'",
        id="SchemaValidationError",
    ),
    pytest.param(
        workflow({"id": "a", "type": "shel", "params": {"command": "echo hi"}}),
        CompilationError,
        "Node 'a': Unknown node type 'shel'",
        id="CompilationError",
    ),
    pytest.param(
        COMPILE_ERROR,
        TemplateValidationError,
        "Node 'a', param 'command': ${nope} refers to 'nope', which is neither a declared input "
        "nor a node id",
        id="TemplateValidationError",
    ),
]


@pytest.mark.parametrize(("ir", "exc_type", "message"), COMPILE_CASES)
def test_invalid_workflow_keeps_exception_type(
    ir: dict[str, Any], exc_type: type[Exception], message: str
):
    result = run(ir, {"p": 1}, metrics_collector=MetricsCollector())
    assert result.success is False
    assert result.action_result is None
    assert type(result.exception) is exc_type  # exactly: the CLI reports it by its type
    assert result.last_node_id is None
    assert result.node_count == 1
    # Nothing ran: the store holds only what the service started it with.
    assert result.shared_after == {"__llm_calls__": []}
    (error,) = result.errors
    assert set(error) <= ERROR_KEYS
    assert error["message"] == message == result.exception.message
    assert error["category"] == "validation"
    assert error["source"] == "validation"
    assert error["exception_type"] == exc_type.__name__
    assert error["fixable"] is True
    assert result.metrics_summary is not None
    assert_schema_valid(result)


@pytest.mark.parametrize("nodes", [5, "abc", {"a": {}}, None])
def test_malformed_nodes_never_raise(nodes: Any):
    # Regression: a non-list `nodes` made computing node_count raise TypeError.
    ir: dict[str, Any] = {"ir_version": "0.1.0", "nodes": nodes}
    result = run(ir)
    assert type(result.exception) is SchemaValidationError
    assert result.node_count == 0
    assert_schema_valid(result)


# -- fixable ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "fixable"),
    [
        ("curl: (7) Failed to connect to localhost port 9: Connection refused", False),
        ("CONNECTION REFUSED", False),
        ("Rate limit exceeded", False),
        ("Invalid API key provided", False),
        ("Command timed out after 30 seconds", False),
        ("HTTP 403 Forbidden", False),
        ("Command failed with exit code 1: no such file", True),
        ("Template ${x} has no value", True),
    ],
)
def test_is_fixable(message: str, fixable: bool):
    assert is_fixable(message) is fixable


def test_connection_refused_error_action_is_not_fixable():
    ir = workflow(shell("a", "echo 'curl: (7) Failed to connect: Connection refused' >&2; exit 7"))
    (error,) = run(ir).errors
    assert error["category"] == "execution_failure"
    assert error["fixable"] is False


def test_exception_error_helper():
    storage = exception_error(WorkflowStorageError("Cannot write workflow file x: read-only"))
    assert storage["fixable"] is False
    assert storage["category"] == "exception"
    plain = exception_error(ValueError(""))
    assert plain == {
        "message": "ValueError",
        "category": "exception",
        "source": "runtime",
        "exception_type": "ValueError",
        "fixable": True,
    }
    invalid = exception_error(SchemaValidationError("Missing api key input", pointer="/inputs"))
    assert invalid["fixable"] is True  # an invalid workflow is fixed by editing it
    assert invalid["pointer"] == "/inputs"


# -- __llm_calls__ ------------------------------------------------------------------------------

PLANNER_CALLS = [{"model": "planner-model", "input_tokens": 10, "output_tokens": 5}]


def test_planner_calls_start_the_store():
    result = run(OK, planner_llm_calls=PLANNER_CALLS)
    assert result.shared_after["__llm_calls__"] == PLANNER_CALLS
    assert result.metrics_summary is None


def test_metrics_without_planner_start_with_empty_calls():
    result = run(OK, metrics_collector=MetricsCollector())
    assert result.shared_after["__llm_calls__"] == []


def test_no_llm_calls_key_without_planner_or_metrics():
    assert "__llm_calls__" not in run(OK).shared_after


def test_planner_calls_are_counted_in_the_metrics():
    result = run(OK, planner_llm_calls=PLANNER_CALLS, metrics_collector=MetricsCollector())
    assert result.shared_after["__llm_calls__"] == PLANNER_CALLS
    assert result.metrics_summary is not None
    total = result.metrics_summary["metrics"]["total"]
    assert (total["tokens_input"], total["tokens_output"]) == (10, 5)


# -- progress and warnings through the OutputController -----------------------------------------


class RecordingController(OutputController):
    """An interactive (or not) controller that records progress events and warnings."""

    def __init__(self, interactive: bool, output_format: str = "text") -> None:
        self.err = io.StringIO()
        super().__init__(
            False, output_format, stdin=io.StringIO(), stdout=io.StringIO(), stderr=self.err
        )
        self.interactive = interactive
        self.events: list[tuple[Any, ...]] = []
        self.warnings: list[str] = []

    def is_interactive(self) -> bool:
        return self.interactive

    def create_progress_callback(self) -> Any:
        inner = super().create_progress_callback()
        if inner is None:
            return None

        def callback(
            node_id: str,
            event: str,
            duration_ms: float | None = None,
            depth: int = 0,
            detail: str | None = None,
        ) -> None:
            self.events.append((node_id, event, duration_ms, depth, detail))
            inner(node_id, event, duration_ms, depth, detail)

        return callback

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        super().warn(message)


def _without_durations(events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    out = []
    for node_id, event, duration_ms, depth, detail in events:
        if event in ("node_complete", "node_failed"):
            assert isinstance(duration_ms, float)
            assert duration_ms >= 0
            duration_ms = "ms"
        out.append((node_id, event, duration_ms, depth, detail))
    return out


def test_progress_events_with_an_interactive_controller():
    controller = RecordingController(interactive=True)
    service = WorkflowExecutorService(output_controller=controller)
    result = service.execute_workflow(ERROR_ACTION, {})
    assert _without_durations(controller.events) == [
        ("", "workflow_start", None, 0, "2"),
        ("a", "node_start", None, 0, None),
        ("a", "node_failed", "ms", 0, "Command failed with exit code 3: boom"),
    ]
    # The callback reaches the nodes through the run's hooks, never through the store.
    assert not any(key.startswith("__") for key in result.shared_after)
    assert "__progress_callback__" not in assert_schema_valid(result)["shared_after"]
    text = controller.err.getvalue()
    assert text.startswith("Executing workflow (2 nodes):\n  a... ✗ Command failed")


def test_progress_events_for_a_successful_run():
    controller = RecordingController(interactive=True)
    WorkflowExecutorService(output_controller=controller).execute_workflow(OK, {})
    assert [e[:2] for e in controller.events] == [
        ("", "workflow_start"),
        ("a", "node_start"),
        ("a", "node_complete"),
        ("b", "node_start"),
        ("b", "node_complete"),
    ]


@pytest.mark.parametrize("controller", [None, "not-interactive"])
def test_no_progress_without_an_interactive_controller(controller: str | None):
    recorder = RecordingController(interactive=False) if controller else None
    result = WorkflowExecutorService(output_controller=recorder).execute_workflow(OK, {})
    assert result.success
    assert "__progress_callback__" not in result.shared_after
    if recorder is not None:
        assert recorder.events == []
        assert recorder.err.getvalue() == ""


@pytest.mark.parametrize(
    ("print_flag", "output_format", "shown"),
    [(False, "text", True), (True, "text", False), (False, "json", False)],
)
def test_progress_with_a_real_terminal_controller(
    tty: Any, print_flag: bool, output_format: str, shown: bool
):
    stderr = io.StringIO()
    controller = OutputController(
        print_flag, output_format, stdin=tty(), stdout=tty(), stderr=stderr
    )
    result = WorkflowExecutorService(output_controller=controller).execute_workflow(
        workflow(shell("only", "true")), {}
    )
    assert result.success
    assert "__progress_callback__" not in result.shared_after
    assert sorted(result.shared_after) == ["only"]
    if shown:
        assert stderr.getvalue().startswith("Executing workflow (1 node):\n  only... ✓ ")
        assert stderr.getvalue().endswith("s\n")
    else:
        assert stderr.getvalue() == ""


UNUSED_PARAM_WARNING = (
    "Node 'a' (shell) has no parameter 'timout' (did you mean 'timeout'?); it is ignored"
)


def test_warnings_go_to_the_output_controller():
    ir = workflow(shell("a", "echo hi", timout=5))
    controller = RecordingController(interactive=False)
    result = WorkflowExecutorService(output_controller=controller).execute_workflow(ir, {})
    assert result.success
    assert controller.warnings == [UNUSED_PARAM_WARNING]
    assert controller.err.getvalue() == f"Warning: {UNUSED_PARAM_WARNING}\n"
    assert result.errors == []


def test_warnings_reach_warn_in_json_mode_too():
    ir = workflow(shell("a", "echo hi", timout=5))
    controller = RecordingController(interactive=False, output_format="json")
    WorkflowExecutorService(output_controller=controller).execute_workflow(ir, {})
    assert controller.warnings == [UNUSED_PARAM_WARNING]
    assert controller.err.getvalue() == ""  # OutputController.warn is silent in JSON mode


def test_the_service_prints_nothing(capfd: pytest.CaptureFixture[str]):
    ir_with_warning = workflow(shell("a", "echo hi; echo err >&2", timout=5))
    for ir in (ir_with_warning, ERROR_ACTION, RUNTIME_EXCEPTION, COMPILE_ERROR):
        run(ir, metrics_collector=MetricsCollector(), trace_collector=WorkflowTraceCollector("t"))
    assert capfd.readouterr() == ("", "")


# -- metrics and trace collectors ---------------------------------------------------------------


class RecordingMetrics(MetricsCollector):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def record_workflow_start(self) -> None:
        self.calls.append("start")
        super().record_workflow_start()

    def record_workflow_end(self) -> None:
        self.calls.append("end")
        super().record_workflow_end()


@pytest.mark.parametrize(
    ("ir", "executed"),
    [
        pytest.param(OK, 2, id="success"),
        pytest.param(ERROR_ACTION, 1, id="error-action"),
        pytest.param(RUNTIME_EXCEPTION, 1, id="node-raises"),
    ],
)
def test_metrics_start_and_end_recorded(ir: dict[str, Any], executed: int):
    metrics = RecordingMetrics()
    result = run(ir, metrics_collector=metrics)
    assert metrics.calls == ["start", "end"]
    summary = result.metrics_summary
    assert summary is not None
    assert summary["nodes_executed"] == executed
    workflow_metrics = summary["metrics"]["workflow"]
    assert workflow_metrics["duration_ms"] is not None  # both ends were recorded
    assert workflow_metrics["duration_ms"] >= 0
    assert set(workflow_metrics["node_timings"]) == {"a", "b"}.intersection(result.shared_after)
    assert_schema_valid(result)


def test_trace_collector_receives_node_events():
    trace = WorkflowTraceCollector("traced")
    result = run(ERROR_ACTION, trace_collector=trace)
    assert not result.success
    assert [(e["node_id"], e["node_type"], e["success"]) for e in trace.events] == [
        ("a", "shell", False)
    ]
    assert trace.events[0]["error"] == "Command failed with exit code 3: boom"
    assert trace.final_status is None  # finishing and saving the trace is the caller's job


def test_trace_collector_records_every_node_of_a_success():
    trace = WorkflowTraceCollector("traced")
    run(OK, trace_collector=trace)
    assert [e["node_id"] for e in trace.events] == ["a", "b"]
    assert all(e["success"] for e in trace.events)


# -- Ctrl-C -------------------------------------------------------------------------------------


INTERRUPTED_IR = workflow(
    shell("first", "echo before"),
    {"id": "stop", "type": "interrupt-probe"},
    shell("never", "echo never"),
)
INTERRUPT_ERROR = {
    "message": "Interrupted by the user (Ctrl-C)",
    "category": "exception",
    "source": "runtime",
    "exception_type": "KeyboardInterrupt",
    "fixable": False,
}


@pytest.mark.usefixtures("probe_registry")
def test_interrupt_carries_the_partial_result():
    metrics = RecordingMetrics()
    trace = WorkflowTraceCollector("interrupted")
    with pytest.raises(WorkflowInterrupted) as info:
        run(INTERRUPTED_IR, {"p": "v"}, metrics_collector=metrics, trace_collector=trace)
    interrupted = info.value
    assert isinstance(interrupted, KeyboardInterrupt)  # `except KeyboardInterrupt` still works
    assert isinstance(interrupted.__cause__, KeyboardInterrupt)
    result = interrupted.result
    assert result.success is False
    assert result.action_result is None
    assert isinstance(result.exception, KeyboardInterrupt)
    assert result.errors == [INTERRUPT_ERROR]
    assert result.last_node_id == "stop"
    assert result.node_count == 3
    assert result.shared_after["first"]["stdout"] == "before\n"
    assert result.shared_after["p"] == "v"
    assert "never" not in result.shared_after
    assert metrics.calls == ["start", "end"]
    assert result.metrics_summary is not None
    assert result.metrics_summary["nodes_executed"] == 2
    assert [(e["node_id"], e["success"]) for e in trace.events] == [
        ("first", True),
        ("stop", False),
    ]
    assert_schema_valid(result)


@pytest.mark.usefixtures("probe_registry")
def test_interrupted_run_is_not_recorded(isolated_home: Path):
    manager = WorkflowManager()
    path = manager.save("flow", INTERRUPTED_IR)
    before = path.read_bytes()
    service = WorkflowExecutorService(workflow_manager=manager)
    with pytest.raises(WorkflowInterrupted):
        service.execute_workflow(INTERRUPTED_IR, {}, workflow_name="flow")
    assert path.read_bytes() == before


SIGINT_SCRIPT = textwrap.dedent(
    """
    import json, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from pflow.core.metrics import MetricsCollector
    from pflow.core.workflow_executor_service import WorkflowExecutorService, WorkflowInterrupted
    ir = json.loads(sys.argv[1])
    try:
        WorkflowExecutorService().execute_workflow(ir, {}, metrics_collector=MetricsCollector())
    except WorkflowInterrupted as stopped:
        doc = stopped.result.to_dict()
        doc["last_node_id"] = stopped.result.last_node_id
        print(json.dumps(doc))
    else:
        print("not interrupted")
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_real_sigint_from_a_node_command(tmp_path: Path):
    """A real SIGINT: the command signals pflow's process once pflow is waiting for it.

    The command first reads its stdin, which pflow writes only once it waits for the command,
    so the signal always arrives while pflow is inside the node (no race with process start).
    """
    pid_file = tmp_path / "sleep.pid"
    ir = workflow(
        shell("first", "echo before"),
        shell(
            "stop",
            f"echo $$ > {pid_file}; read line; kill -INT $PPID; exec sleep 60",
            stdin="go\n",
        ),
        shell("never", "echo never"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", SIGINT_SCRIPT, json.dumps(ir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc.pop("last_node_id") == "stop"
    assert document_errors(RESULT_SCHEMA, doc) == []
    assert doc["success"] is False
    assert doc["errors"] == [INTERRUPT_ERROR]
    assert doc["shared_after"]["first"]["stdout"] == "before\n"
    assert "never" not in doc["shared_after"]
    assert doc["metrics_summary"]["nodes_executed"] == 2
    assert not _alive(int(pid_file.read_text()))  # the interrupted command was killed


# -- the JSON form ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ir", "params", "stdin"),
    [
        pytest.param(OK, {}, None, id="success"),
        pytest.param(ERROR_ACTION, {}, None, id="error-action"),
        pytest.param(RUNTIME_EXCEPTION, {}, None, id="exception"),
        pytest.param(COMPILE_ERROR, {}, None, id="validation"),
        pytest.param(workflow(shell("a", "cat")), {}, b"\x00\xff\x80", id="binary-stdin"),
        pytest.param(
            workflow(shell("a", "echo ${n}"), inputs={"n": {"type": "number"}}),
            {"n": math.nan},
            None,
            id="nan-param",
        ),
    ],
)
@pytest.mark.parametrize("with_metrics", [False, True])
def test_to_dict_validates_against_the_schema(
    ir: dict[str, Any], params: dict[str, Any], stdin: bytes | None, with_metrics: bool
):
    metrics = MetricsCollector() if with_metrics else None
    result = run(ir, params, stdin_data=stdin, metrics_collector=metrics)
    data = assert_schema_valid(result)
    assert list(data) == [
        "success",
        "action_result",
        "errors",
        "shared_after",
        "node_count",
        "duration",
        "metrics_summary",
    ]
    assert (data["metrics_summary"] is None) is (not with_metrics)
    if stdin is not None:
        assert data["shared_after"]["stdin"] == f"<binary data: {len(stdin)} bytes>"
        assert result.shared_after["stdin"] == stdin  # the live store keeps the bytes


def test_to_dict_does_not_change_the_result():
    result = run(workflow(shell("a", "cat")), stdin_data=b"\x01")
    result.to_dict()
    assert result.shared_after["stdin"] == b"\x01"


def test_to_dict_errors_are_json_safe():
    result = ExecutionResult(
        success=False,
        action_result=None,
        errors=[{"message": "bad", "category": "exception", "x-raw": b"\x00"}],
    )
    data = assert_schema_valid(result)
    assert data["errors"] == [
        {"message": "bad", "category": "exception", "x-raw": "<binary data: 1 bytes>"}
    ]


# -- layering -----------------------------------------------------------------------------------


def test_module_imports_no_click():
    code = textwrap.dedent(
        """
        import sys
        from pflow.core.workflow_executor_service import WorkflowExecutorService
        loaded_on_import = "click" in sys.modules
        result = WorkflowExecutorService().execute_workflow(
            {"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "shell",
             "params": {"command": "echo hi"}}]}, {})
        print(loaded_on_import, "click" in sys.modules, result.success,
              any(m.startswith("pflow.cli") for m in sys.modules))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "True", "False"]


def test_module_source_never_prints_or_exits():
    tree = ast.parse(Path(service_module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            assert name not in {"print", "exit", "quit", "_exit", "echo", "secho"}, ast.dump(node)
    assert "click" not in imported
    assert "sys" not in imported


# -- history of saved workflows -----------------------------------------------------------------


@pytest.fixture
def saved(isolated_home: Path) -> tuple[WorkflowManager, Path]:
    manager = WorkflowManager()
    return manager, manager.save("saved-flow", OK)


def test_history_recorded_with_manager_and_name(saved: tuple[WorkflowManager, Path]):
    manager, path = saved
    service = WorkflowExecutorService(workflow_manager=manager)
    result = service.execute_workflow(OK, {"who": "Ada", "api_token": "t0ps3cret"}, "saved-flow")
    assert result.metadata_error is None
    metadata = json.loads(path.read_text(encoding="utf-8"))["rich_metadata"]
    assert metadata["execution_count"] == 1
    assert metadata["last_execution_success"] is True
    assert metadata["last_execution_params"] == {"who": "Ada", "api_token": "<redacted>"}
    assert metadata["last_execution_errors"] == []
    assert "t0ps3cret" not in path.read_text(encoding="utf-8")
    service.execute_workflow(OK, {}, "saved-flow")
    assert json.loads(path.read_text(encoding="utf-8"))["rich_metadata"]["execution_count"] == 2


@pytest.mark.parametrize(
    "ir", [ERROR_ACTION, RUNTIME_EXCEPTION, COMPILE_ERROR], ids=["action", "raises", "invalid"]
)
def test_failures_are_recorded(saved: tuple[WorkflowManager, Path], ir: dict[str, Any]):
    manager, path = saved
    result = WorkflowExecutorService(workflow_manager=manager).execute_workflow(
        ir, {}, workflow_name="saved-flow"
    )
    assert result.success is False
    assert result.metadata_error is None
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["rich_metadata"]["last_execution_success"] is False
    assert stored["rich_metadata"]["last_execution_errors"] == to_json_safe(result.errors)
    assert document_errors("saved-workflow.schema.json", stored) == []


def test_manager_without_name_records_nothing(saved: tuple[WorkflowManager, Path]):
    manager, path = saved
    before = path.read_bytes()
    result = WorkflowExecutorService(workflow_manager=manager).execute_workflow(OK, {})
    assert result.success and result.metadata_error is None
    assert path.read_bytes() == before


def test_name_without_manager_records_nothing(saved: tuple[WorkflowManager, Path]):
    _, path = saved
    before = path.read_bytes()
    result = WorkflowExecutorService().execute_workflow(OK, {}, workflow_name="saved-flow")
    assert result.success and result.metadata_error is None
    assert path.read_bytes() == before


def test_unknown_name_is_a_metadata_error_not_a_failure(saved: tuple[WorkflowManager, Path]):
    manager, _ = saved
    result = WorkflowExecutorService(workflow_manager=manager).execute_workflow(
        OK, {}, workflow_name="ghost"
    )
    assert result.success is True
    assert result.errors == []
    assert result.metadata_error == "Workflow 'ghost' not found"


def test_metadata_write_failure_changes_nothing_else(
    saved: tuple[WorkflowManager, Path], monkeypatch: pytest.MonkeyPatch
):
    manager, path = saved
    service = WorkflowExecutorService(workflow_manager=manager)
    baseline = comparable(service.execute_workflow(ERROR_ACTION, {}, workflow_name="saved-flow"))
    before = path.read_bytes()

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    result = service.execute_workflow(ERROR_ACTION, {}, workflow_name="saved-flow")
    assert result.metadata_error is not None
    assert "No space left on device" in result.metadata_error
    assert comparable(result) == baseline
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [".saved-flow.json.lock", path.name]


# -- abort_on_first_error -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ir",
    [OK, COMPILE_ERROR, HANDLED_ERROR],
    ids=["success", "validation", "handled"],
)
def test_both_modes_agree_when_no_node_fails_unhandled(ir: dict[str, Any]):
    results = {
        mode: WorkflowExecutorService(abort_on_first_error=mode).execute_workflow(
            ir, {}, metrics_collector=None
        )
        for mode in (True, False)
    }
    assert comparable(results[True]) == comparable(results[False])
    assert results[True].errors == results[False].errors
    assert len(results[False].errors) <= 1


def test_abort_mode_is_kept():
    assert WorkflowExecutorService().abort_on_first_error is True
    assert WorkflowExecutorService(abort_on_first_error=False).abort_on_first_error is False


def test_abort_mode_stops_at_the_first_error_and_keep_going_does_not():
    ir = workflow(shell("a", "exit 1"), shell("b", "echo after"))
    abort = WorkflowExecutorService().execute_workflow(ir, {})
    assert abort.last_node_id == "a"
    assert "b" not in abort.shared_after
    assert [e["node_id"] for e in abort.errors] == ["a"]
    keep = WorkflowExecutorService(abort_on_first_error=False).execute_workflow(ir, {})
    assert keep.success is False
    assert keep.shared_after["b"]["stdout"] == "after\n"
    assert [(e["node_id"], e["category"]) for e in keep.errors] == [("a", "execution_failure")]


# -- docs/service-api.md ------------------------------------------------------------------------

SERVICE_DOC = Path(__file__).resolve().parents[2] / "docs" / "service-api.md"


@pytest.mark.skipif(not SERVICE_DOC.is_file(), reason="docs are not part of this tree")
def test_documented_example_runs_as_documented(tmp_path: Path):
    text = SERVICE_DOC.read_text(encoding="utf-8")
    section = text.split("## A complete example", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```\n", 1)[0]
    expected = section.split("```text\n", 1)[1].split("```\n", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PFLOW_HOME": str(tmp_path / "pflow-home"),
        "TMPDIR": str(tmp_path),
    }
    proc = run_doc_example(script, env, tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == expected
    assert not (tmp_path / "pflow-home").exists()  # the example used its own directory
