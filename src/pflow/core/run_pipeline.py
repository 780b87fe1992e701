"""RunPipeline: everything `pflow run` does, for any front end, in one call.

A run goes through these steps, each of which can end it:

1. resolve the workflow (a file, a saved name, or a saved-workflow wrapper file);
2. check the IR against its schema;
3. prepare the inputs from KEY=VALUE text (or values already typed);
4. read piped standard input, when the workflow can use it;
5. compile, validate references and templates, and run (WorkflowExecutorService);
6. record the run in the saved workflow's history, failed starts with bad parameters included;
7. finish and save the trace, when one was asked for.

`RunPipeline.run()` never raises for a failure of the workflow: the `RunOutcome` says what
happened, with the error a front end should report. Ctrl-C during step 5 comes back as the
outcome's `error` (a WorkflowInterrupted), and the front end decides how to end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pflow.core.metrics import MetricsCollector
from pflow.core.node_types import Registry
from pflow.core.output_controller import OutputController
from pflow.core.run_errors import error_action_failure, keep_going_failure
from pflow.core.run_records import (
    RunRecorder,
    RunRecordError,
    ir_hash,
    recording_enabled,
    workflow_identity,
)
from pflow.core.run_store import Journal, RunStore, cached_steps, newest_failed, resume_lock
from pflow.core.stdin import read_stdin, workflow_uses_stdin
from pflow.core.workflow_executor_service import (
    ExecutionResult,
    WorkflowExecutorService,
    WorkflowInterrupted,
)
from pflow.core.workflow_manager import WorkflowManager
from pflow.core.workflow_source import WorkflowSource, resolve_workflow
from pflow.foundation.exceptions import ParameterError
from pflow.foundation.json_safe import dumps_utf8
from pflow.foundation.paths import debug_dir
from pflow.runtime.inputs import prepare_inputs
from pflow.runtime.ir_schema import validate_ir_schema
from pflow.runtime.journal import CachedStep
from pflow.runtime.redaction import REDACTED, redact
from pflow.runtime.trace import WorkflowTraceCollector
from pflow.runtime.validation import validate_workflow


@dataclass
class RunRequest:
    """What to run and how. `params` are KEY=VALUE texts unless `typed_params` is set."""

    workflow: str
    params: Mapping[str, Any] = field(default_factory=dict)
    typed_params: bool = False
    stdin: IO[Any] | None = None  # piped input; None reads sys.stdin when the workflow uses it
    use_stdin: bool = True  # False: the workflow gets no piped input (${stdin} has no value)
    output_key: str | None = None
    keep_going: bool = False
    trace: bool = False
    collect_metrics: bool = False
    record: bool = True  # False: no run record (PFLOW_NO_RUNS=1 turns them off as well)


@dataclass
class Resume:
    """What a resumed run reuses: the steps of the record it continues."""

    run_id: str
    reuse: dict[tuple[str, str], CachedStep]
    force_from: str | None = None


@dataclass
class RunOutcome:
    """What a run did: everything a front end needs to report it exactly."""

    request: RunRequest
    source: WorkflowSource | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result: ExecutionResult | None = None  # None when the run failed before it started
    error: BaseException | None = None  # what ended the run, when it did not succeed
    errors: list[dict[str, Any]] | None = None  # every failure of a --keep-going run
    warnings: list[str] = field(default_factory=list)
    not_recorded: str | None = None  # why the history could not be written
    metrics_summary: dict[str, Any] | None = None
    trace_path: Path | None = None
    trace_problem: str | None = None  # why the trace could not be saved
    run_id: str | None = None  # the run's record, when one was written
    cached_nodes: list[str] = field(default_factory=list)  # reused from the run resumed
    record_problem: str | None = None  # why the run record could not be written
    resumed_from: str | None = None

    @property
    def success(self) -> bool:
        return self.error is None and self.result is not None and self.result.success

    @property
    def interrupted(self) -> bool:
        return isinstance(self.error, WorkflowInterrupted)

    @property
    def shared_after(self) -> dict[str, Any]:
        return self.result.shared_after if self.result is not None else {}

    @property
    def ir(self) -> dict[str, Any]:
        return self.source.ir if self.source is not None else {}

    @property
    def workflow_info(self) -> dict[str, str]:
        """The `workflow` member of JSON documents."""
        if self.source is not None and self.source.kind == "saved":
            return {"action": "reused", "name": self.source.name}
        return {"action": "unsaved", "name": self.request.workflow}

    @property
    def trace_name(self) -> str:
        """Name used in trace files: the saved name, or the workflow file's stem."""
        if self.source is not None and self.source.kind == "saved":
            return self.source.name
        return Path(self.request.workflow).stem or self.request.workflow


@dataclass
class CheckOutcome:
    """What `RunPipeline.check()` found for one workflow: nothing was run."""

    target: str
    source: WorkflowSource | None = None
    error: Exception | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.error is None


class _Display(OutputController):
    """The front end's output controller, also keeping the warnings for the outcome."""

    def __init__(self, inner: OutputController | None, warnings: list[str]) -> None:
        super().__init__(True, "json")
        self.inner = inner
        self.kept = warnings

    def is_interactive(self) -> bool:
        return self.inner is not None and self.inner.is_interactive()

    def create_progress_callback(self) -> Any:
        return self.inner.create_progress_callback() if self.inner is not None else None

    def warn(self, message: str) -> None:
        self.kept.append(message)
        if self.inner is not None:
            self.inner.warn(message)

    def progress(self, message: str) -> None:
        if self.inner is not None:
            self.inner.progress(message)


class RunPipeline:
    """Runs workflows the way `pflow run` does. One instance may serve many runs."""

    def __init__(
        self,
        *,
        manager: WorkflowManager | None = None,
        output: OutputController | None = None,
        on_step: Callable[[str], None] | None = None,
        trace_dir: Callable[[], Path] = debug_dir,
        registry: Registry | None = None,
    ) -> None:
        self.manager = manager if manager is not None else WorkflowManager()
        self.registry = registry
        self.output = output
        self.on_step = on_step  # one line per step, for --verbose
        self.trace_dir = trace_dir

    def run(self, request: RunRequest, resume: Resume | None = None) -> RunOutcome:
        """Resolve, check, prepare and run `request`; the outcome describes any failure.

        With `resume`, completed steps of that earlier run whose fingerprints still match
        are reused instead of executed (see `resume_run`).
        """
        outcome = RunOutcome(request, resumed_from=resume.run_id if resume else None)
        metrics = MetricsCollector() if request.collect_metrics else None
        try:
            outcome.source = resolve_workflow(request.workflow, self.manager)
            self._step(f"workflow '{outcome.source.name}' from {outcome.source.path}")
            # The schema check comes first: checking parameters assumes a well-formed IR.
            validate_ir_schema(outcome.source.ir)
            outcome.params = prepare_inputs(
                outcome.source.ir, dict(request.params), from_text=not request.typed_params
            )
            stdin_data = None
            if request.use_stdin and workflow_uses_stdin(outcome.source.ir):
                stdin_data = read_stdin(request.stdin)
        except Exception as exc:  # a failed start is reported like any failure
            outcome.error = exc
            outcome.errors = None
            outcome.not_recorded = self._record_failed_start(outcome, exc)
            outcome.metrics_summary = _no_nodes_summary(metrics)
            return outcome
        if outcome.params:
            values = dumps_utf8(redact(outcome.params), indent=None, default=str)
            self._step(f"parameters: {values}")
        if resume is not None and resume.force_from is not None:
            ids = [n.get("id") for n in outcome.source.ir.get("nodes", [])]
            if resume.force_from not in ids:
                outcome.error = ParameterError(
                    f"--from names no node of the workflow: '{resume.force_from}'",
                    hint=f"Node ids: {', '.join(map(str, ids))}",
                )
                outcome.metrics_summary = _no_nodes_summary(metrics)
                return outcome
        self._execute(outcome, stdin_data, metrics, resume)
        return outcome

    def resume_run(
        self,
        run_id: str | None,
        request: RunRequest,
        *,
        force_from: str | None = None,
        store: RunStore | None = None,
    ) -> RunOutcome:
        """Run a recorded run's workflow again, reusing the steps that still match.

        `run_id` may be a unique prefix; None takes the newest failed run started in the
        current directory that no later run resumed. The workflow is loaded as it is now
        (saved name or file), with the record's parameters under `request.params`. Completed
        steps whose fingerprint is unchanged are reused; from `force_from` on, nothing is.
        Two resumes of one run never overlap: the second is refused.
        """
        store = store if store is not None else RunStore()
        outcome = RunOutcome(request)
        try:
            resolved = store.resolve(run_id) if run_id else newest_failed(store)
            record = store.load(resolved)
            with resume_lock(store, resolved):
                workflow = record["workflow"]
                request.workflow = str(workflow.get("name") or workflow.get("path") or "")
                request.params = _resumed_params(record, request.params)
                request.typed_params = bool(record.get("typed_params"))
                return self.run(request, Resume(resolved, cached_steps(record), force_from))
        except (RunRecordError, ParameterError) as exc:
            outcome.error = exc
            outcome.metrics_summary = _no_nodes_summary(
                MetricsCollector() if request.collect_metrics else None
            )
            return outcome

    def check(self, workflow: str, params: Mapping[str, str] | None = None) -> CheckOutcome:
        """Every check `run()` makes before executing, with nothing run and nothing recorded.

        Schema, node types, edges, templates and, when `params` (KEY=VALUE texts) are given,
        the inputs: without them, required inputs are not asked for.
        """
        outcome = CheckOutcome(workflow)
        try:
            outcome.source = resolve_workflow(workflow, self.manager)
            ir = outcome.source.ir
            validate_ir_schema(ir)
            values = prepare_inputs(ir, dict(params), from_text=True) if params else None
            registry = self.registry if self.registry is not None else Registry()
            outcome.warnings = validate_workflow(
                ir, registry, values, params_known=values is not None
            )
        except Exception as exc:
            outcome.error = exc
        return outcome

    def _execute(
        self,
        outcome: RunOutcome,
        stdin_data: str | bytes | None,
        metrics: MetricsCollector | None,
        resume: Resume | None = None,
    ) -> None:
        assert outcome.source is not None
        request = outcome.request
        recorder = self._recorder(outcome, resume)
        journal = None  # without a record to write or steps to reuse, no node is fingerprinted
        if resume is not None:
            journal = Journal(recorder, resume.reuse, resume.force_from)
        elif recorder is not None:
            journal = Journal(recorder)
        trace = WorkflowTraceCollector(outcome.trace_name) if request.trace else None
        saved_name = outcome.source.saved_name
        service = WorkflowExecutorService(
            workflow_manager=self.manager if saved_name else None,
            output_controller=_Display(self.output, outcome.warnings),
            abort_on_first_error=not request.keep_going,
            registry=self.registry,
        )
        ir = outcome.source.ir
        self._step(f"workflow has {len(ir.get('nodes') or [])} node(s)")
        try:
            result = service.execute_workflow(
                ir,
                outcome.params,
                workflow_name=saved_name,
                stdin_data=stdin_data,
                output_key=request.output_key,
                metrics_collector=metrics,
                trace_collector=trace,
                journal=journal,
                schema_checked=True,  # run() checked it before preparing the inputs
            )
        except WorkflowInterrupted as interrupted:
            self._finish(outcome, interrupted.result, interrupted, trace, "failed")
            self._finish_record(outcome, recorder, interrupted.result, "interrupted")
            return
        self._finish_record(outcome, recorder, result, "success" if result.success else "failed")
        outcome.not_recorded = result.metadata_error
        if result.exception is not None:
            self._finish(outcome, result, result.exception, trace, "failed")
        elif not result.success:
            if request.keep_going and result.errors:
                failure: BaseException = keep_going_failure(result.errors)
            else:
                failure = error_action_failure(ir, result.shared_after, result.last_node_id)
            self._finish(outcome, result, failure, trace, "error")
        else:
            self._finish(outcome, result, None, trace, "success")

    def _finish(
        self,
        outcome: RunOutcome,
        result: ExecutionResult,
        error: BaseException | None,
        trace: WorkflowTraceCollector | None,
        status: str,
    ) -> None:
        outcome.result = result
        outcome.error = error
        outcome.errors = result.errors if outcome.request.keep_going else None
        outcome.metrics_summary = result.metrics_summary
        if trace is None:
            return
        trace.finish(status)
        try:
            outcome.trace_path = trace.save(self.trace_dir())
        except OSError as exc:
            outcome.trace_problem = f"could not save the trace: {exc}"

    def _recorder(self, outcome: RunOutcome, resume: Resume | None) -> RunRecorder | None:
        """A recorder for this run, or None when records are turned off."""
        request = outcome.request
        if not request.record or not recording_enabled():
            return None
        assert outcome.source is not None
        source = outcome.source
        nodes = [n for n in source.ir.get("nodes", []) if isinstance(n, dict)]
        workflow = workflow_identity(source.kind, source.saved_name, source.path)
        workflow["ir_hash"] = ir_hash(source.ir)
        return RunRecorder(
            workflow=workflow,
            params=dict(request.params),
            typed_params=request.typed_params,
            node_ids=[str(n.get("id")) for n in nodes],
            node_types={str(n.get("id")): str(n.get("type")) for n in nodes},
            keep_going=request.keep_going,
            resumed_from=resume.run_id if resume else None,
        )

    def _finish_record(
        self,
        outcome: RunOutcome,
        recorder: RunRecorder | None,
        result: ExecutionResult,
        status: str,
    ) -> None:
        if recorder is None:
            return
        skipped = [str(e.get("node_id")) for e in result.errors if e.get("category") == "skipped"]
        recorder.finish(
            status=status,
            final_action=result.action_result,
            errors=result.errors,
            skipped=skipped,
        )
        outcome.cached_nodes = recorder.cached
        outcome.run_id = recorder.run_id
        outcome.record_problem = recorder.problem

    def _record_failed_start(self, outcome: RunOutcome, exc: Exception) -> str | None:
        """A saved workflow given bad parameters still gets a history entry.

        Other failures before the run (an unreadable file, an IR that breaks the schema) leave
        the saved file as it is: a history entry cannot make a broken file valid.
        """
        name = outcome.source.saved_name if outcome.source is not None else None
        if name is None or not isinstance(exc, ParameterError):
            return None
        service = WorkflowExecutorService(workflow_manager=self.manager)
        return service.record_failure(name, dict(outcome.request.params), exc)

    def _step(self, message: str) -> None:
        if self.on_step is not None:
            self.on_step(message)


def _no_nodes_summary(metrics: MetricsCollector | None) -> dict[str, Any] | None:
    """The metrics of a run that ended before any node ran (None without metrics)."""
    return metrics.get_summary([]) if metrics is not None else None


def _resumed_params(record: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The record's parameters with `overrides` on top; a redacted one must be given again."""
    merged = {**record.get("params", {}), **overrides}
    missing = sorted(k for k, v in merged.items() if v == REDACTED and k not in overrides)
    if missing:
        words = " ".join(f"{k}=..." for k in missing)
        raise ParameterError(
            f"The record does not keep the value of {', '.join(repr(k) for k in missing)} "
            "(secret parameters are redacted)",
            hint=f"Give it again: pflow resume {record.get('run_id', 'RUN_ID')} {words}",
        )
    return merged
