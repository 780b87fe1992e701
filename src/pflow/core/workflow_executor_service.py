"""WorkflowExecutorService: run a workflow IR for any front end and describe the outcome.

The service compiles and runs a workflow, records metrics and (for saved workflows) the
execution history, and returns an `ExecutionResult`. It prints nothing and never exits:
warnings and progress reach a terminal only through the `OutputController` it is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pflow.core.execution_history import history_updates
from pflow.core.metrics import MetricsCollector
from pflow.core.output_controller import OutputController
from pflow.core.run_errors import (
    error_action_failure,
    exception_error,
    failure_entries,
    failure_error,
)
from pflow.core.run_errors import is_fixable as is_fixable  # documented here before it moved
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation import store_keys
from pflow.foundation.exceptions import PflowError, interruption
from pflow.foundation.json_safe import to_json_safe
from pflow.registry import Registry
from pflow.runtime.compiler import compile_ir_to_flow
from pflow.runtime.flow import WorkflowFlow
from pflow.runtime.hooks import RunHooks
from pflow.runtime.journal import RunJournal
from pflow.runtime.trace import WorkflowTraceCollector


@dataclass
class ExecutionResult:
    """The outcome of one run. `to_dict()` follows schemas/execution-result.schema.json."""

    success: bool
    action_result: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    shared_after: dict[str, Any] = field(default_factory=dict)
    node_count: int = 0
    duration: float = 0.0
    metrics_summary: dict[str, Any] | None = None
    # Not part of the JSON form: what a front end needs to report the run exactly.
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    last_node_id: str | None = None
    metadata_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (bytes, callables and other non-JSON values made printable)."""
        return {
            "success": self.success,
            "action_result": self.action_result,
            "errors": to_json_safe(self.errors),
            "shared_after": to_json_safe(self.shared_after),
            "node_count": self.node_count,
            "duration": self.duration,
            "metrics_summary": to_json_safe(self.metrics_summary),
        }


class WorkflowInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; `result` holds what the run had done so far."""

    def __init__(self, result: ExecutionResult) -> None:
        super().__init__()
        self.result = result


class WorkflowExecutorService:
    """Runs workflows. One instance may run many workflows, one after the other."""

    def __init__(
        self,
        workflow_manager: WorkflowManager | None = None,
        output_controller: OutputController | None = None,
        abort_on_first_error: bool = True,
        *,
        registry: Registry | None = None,
    ) -> None:
        self.workflow_manager = workflow_manager
        # The node types runs may use; None: a fresh Registry() for each run.
        self.registry = registry
        self.output_controller = output_controller
        # False: a failing node is recorded and the walk goes on; nodes needing its outputs
        # are skipped (see WorkflowFlow).
        self.abort_on_first_error = abort_on_first_error

    def execute_workflow(
        self,
        workflow_ir: dict[str, Any],
        execution_params: dict[str, Any] | None,
        workflow_name: str | None = None,
        stdin_data: str | bytes | None = None,
        output_key: str | None = None,
        planner_llm_calls: list[dict[str, Any]] | None = None,
        metrics_collector: MetricsCollector | None = None,
        trace_collector: WorkflowTraceCollector | None = None,
        *,
        journal: RunJournal | None = None,
        schema_checked: bool = False,
    ) -> ExecutionResult:
        """Compile and run `workflow_ir` with `execution_params`; never raises for a failure.

        Failures (invalid workflow, a node's error action, a node's exception) come back in
        `errors`, with the original exception in `exception`. With
        `abort_on_first_error=False` every failing node and every node skipped because it
        needs a failed node's outputs has an entry, in execution order. Ctrl-C raises
        WorkflowInterrupted carrying the partial result. When a workflow manager and a
        `workflow_name` are given, the run is recorded in the saved file's history.
        `output_key` is accepted for front ends that select one result key; the service
        itself does not use it. A `journal` hears of every finished node and may hand back
        completed steps of an earlier run to reuse (resume; see pflow.core.run_store).
        `schema_checked=True` says the caller has already checked `workflow_ir` against the
        IR schema (compiling then does not check it again).
        """
        started = time.perf_counter()
        params = dict(execution_params or {})
        shared = _initial_store(planner_llm_calls, metrics_collector)
        if trace_collector is not None:
            trace_collector.parameters = params
        flow: WorkflowFlow | None = None
        action: Any = None
        exception: Exception | None = None
        try:
            flow = compile_ir_to_flow(
                workflow_ir,
                self.registry if self.registry is not None else Registry(),
                initial_params=params,
                validate=True,
                metrics_collector=metrics_collector,
                trace_collector=trace_collector,
                schema_checked=schema_checked,
            )
            for message in flow.warnings:
                self._warn(message)
            shared.update(params)
            if stdin_data is not None:
                shared["stdin"] = stdin_data
            flow.hooks = self._hooks(shared, flow.node_count)
            flow.hooks.journal = journal
            flow.keep_going = not self.abort_on_first_error
            action = self._run(flow, shared, metrics_collector)
        except Exception as exc:
            exception = exc
        except KeyboardInterrupt as interrupt:
            result = self._result(workflow_ir, shared, flow, None, interrupt, started)
            result.metrics_summary = _summary(metrics_collector, shared)
            raise WorkflowInterrupted(result) from interrupt
        result = self._result(workflow_ir, shared, flow, action, exception, started)
        result.metrics_summary = _summary(metrics_collector, shared)
        if self.workflow_manager is not None and workflow_name:
            result.metadata_error = self._record_history(workflow_name, params, result)
        return result

    def _run(
        self, flow: WorkflowFlow, shared: dict[str, Any], metrics: MetricsCollector | None
    ) -> Any:
        if metrics is not None:
            metrics.record_workflow_start()
        try:
            return flow.run(shared)
        finally:
            if metrics is not None:
                metrics.record_workflow_end()

    def _result(
        self,
        ir: dict[str, Any],
        shared: dict[str, Any],
        flow: WorkflowFlow | None,
        action: Any,
        exception: BaseException | None,
        started: float,
    ) -> ExecutionResult:
        last_node = flow.last_node_id if flow is not None else None
        errors: list[dict[str, Any]] = []
        if isinstance(exception, Exception):
            errors.append(exception_error(exception))
        elif exception is not None:  # Ctrl-C, after the failures of a keep-going walk
            if flow is not None and flow.failures:
                errors.extend(failure_entries(ir, shared, flow.failures))
            errors.append(
                {
                    "message": interruption(exception).message,
                    "category": "exception",
                    "source": "runtime",
                    "exception_type": type(exception).__name__,
                    "fixable": False,
                }
            )
        elif flow is not None and flow.failures:
            errors.extend(failure_entries(ir, shared, flow.failures))
        elif isinstance(action, str) and action.startswith("error"):
            failure = error_action_failure(ir, shared, last_node)
            errors.append({**failure_error(failure), "action": action})
        nodes = ir.get("nodes")  # not a list when the IR failed schema validation
        return ExecutionResult(
            success=not errors and exception is None,
            action_result=action if isinstance(action, str) else None,
            errors=errors,
            shared_after=shared,
            node_count=len(nodes) if isinstance(nodes, list) else 0,
            duration=time.perf_counter() - started,
            exception=exception,
            last_node_id=last_node,
        )

    def record_failure(
        self, workflow_name: str, params: dict[str, Any], exc: Exception
    ) -> str | None:
        """Record a run of a saved workflow that failed before it started (bad parameters).

        Returns why the record could not be written, or None; never raises.
        """
        if self.workflow_manager is None:
            return None
        result = ExecutionResult(
            success=False, action_result=None, errors=[exception_error(exc)], exception=exc
        )
        return self._record_history(workflow_name, params, result)

    def _record_history(
        self, name: str, params: dict[str, Any], result: ExecutionResult
    ) -> str | None:
        """Update the saved file; a failure is returned as text, never raised."""
        assert self.workflow_manager is not None
        try:
            self.workflow_manager.update_metadata(
                name, history_updates(result.success, params, result.errors)
            )
        except (PflowError, OSError) as exc:
            return str(exc)
        return None

    def _warn(self, message: str) -> None:
        if self.output_controller is not None:
            self.output_controller.warn(message)

    def _hooks(self, shared: dict[str, Any], node_count: int) -> RunHooks:
        """The run's progress display (announced with `workflow_start`) and LLM-call ledger."""
        calls = shared.get(store_keys.LLM_CALLS)
        hooks = RunHooks(llm_calls=calls if isinstance(calls, list) else None)
        if self.output_controller is not None:
            hooks.progress = self.output_controller.create_progress_callback()
            hooks.emit("", "workflow_start", None, str(node_count))
        return hooks


def _initial_store(
    planner_llm_calls: list[dict[str, Any]] | None, metrics: MetricsCollector | None
) -> dict[str, Any]:
    if planner_llm_calls is not None:
        return {store_keys.LLM_CALLS: list(planner_llm_calls)}
    return {store_keys.LLM_CALLS: []} if metrics is not None else {}


def _summary(metrics: MetricsCollector | None, shared: dict[str, Any]) -> dict[str, Any] | None:
    if metrics is None:
        return None
    calls = shared.get(store_keys.LLM_CALLS)
    return metrics.get_summary(calls if isinstance(calls, list) else [])
