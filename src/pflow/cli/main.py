"""`pflow run`: load a workflow, run it, print its result; the execution logic lives here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pflow.cli.app import COMMAND_NAMES
from pflow.cli.errors import error_document, exit_code_for, report_error, warn
from pflow.cli.exit_codes import EXIT_CODE_HELP, ExitCode
from pflow.cli.output import echo_stdout
from pflow.cli.render import (
    dump_document,
    format_value,
    json_result,
    text_result,
)
from pflow.cli.stdin import read_stdin, workflow_uses_stdin
from pflow.core.metrics import MetricsCollector
from pflow.core.output_controller import OutputController
from pflow.core.run_errors import error_action_failure, exception_error, keep_going_failure
from pflow.core.workflow_executor_service import WorkflowExecutorService, WorkflowInterrupted
from pflow.core.workflow_manager import WorkflowManager
from pflow.core.workflow_source import (
    WorkflowSource,
    looks_like_path,
    resolve_workflow,
    saved_names,
    similar_names,
)
from pflow.foundation.exceptions import ParameterError, WorkflowNotFoundError
from pflow.foundation.json_safe import dumps_utf8, to_json_safe
from pflow.foundation.paths import debug_dir
from pflow.runtime.inputs import prepare_inputs
from pflow.runtime.ir_schema import validate_ir_schema
from pflow.runtime.redaction import redact
from pflow.runtime.trace import WorkflowTraceCollector


@dataclass
class RunContext:
    """What the run command knows about the current invocation (kept in `ctx.obj`)."""

    output: OutputController
    workflow_arg: str
    verbose: bool = False
    trace: bool = False
    source: WorkflowSource | None = None
    last_node_id: str | None = None
    keep_going: bool = False
    errors: list[dict[str, Any]] | None = None  # every failure of a --keep-going run

    @property
    def workflow_info(self) -> dict[str, str]:
        """The `workflow` member of JSON documents."""
        if self.source is not None and self.source.kind == "saved":
            return {"action": "reused", "name": self.source.name}
        return {"action": "unsaved", "name": self.workflow_arg}

    @property
    def trace_name(self) -> str:
        """Name used in trace files: the saved name, or the workflow file's stem."""
        if self.source is not None and self.source.kind == "saved":
            return self.source.name
        return Path(self.workflow_arg).stem or self.workflow_arg


RUN_HELP = f"""Run a workflow from a JSON file or by its saved name.

PARAMS are KEY=VALUE pairs for the workflow's declared inputs. Values are converted to the
declared type; undeclared values are inferred (true/false, numbers, JSON arrays and objects,
else text). Piped standard input is available to the workflow as ${{stdin}}.

\b
Examples:
  pflow run examples/hello.json name=Ada
  pflow run my-saved-flow --output-format json
  cat notes.txt | pflow run summarize.json -o summary

{EXIT_CODE_HELP}
"""


@click.command(name="run", help=RUN_HELP, no_args_is_help=True)
@click.argument("workflow")
@click.argument("params", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("-o", "--output-key", metavar="KEY", help="Print this result key (e.g. node.stdout).")
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    show_default=True,
    help="json prints one document with result and metrics.",
)
@click.option("-p", "--print", "print_flag", is_flag=True, help="Never show progress or prompts.")
@click.option("--trace", is_flag=True, help="Save an execution trace under ~/.pflow/debug/.")
@click.option("-v", "--verbose", is_flag=True, help="Explain each step; tracebacks on errors.")
@click.option(
    "--keep-going",
    is_flag=True,
    # Hidden so `pflow run --help` keeps its recorded bytes (golden/); docs/cli.md describes it.
    hidden=True,
    help="After a node fails, run every node that does not need its outputs; report all.",
)
@click.pass_context
def run_command(
    ctx: click.Context,
    workflow: str,
    params: tuple[str, ...],
    output_key: str | None,
    output_format: str,
    print_flag: bool,
    trace: bool,
    verbose: bool,
    keep_going: bool,
) -> int:
    """Entry point of `pflow run` (and of the bare `pflow WORKFLOW` form)."""
    output_format = output_format.lower()
    metrics = MetricsCollector() if output_format == "json" else None
    state = RunContext(OutputController(print_flag, output_format), workflow, verbose, trace)
    state.keep_going = keep_going
    ctx.obj = state
    try:
        words = parse_param_words(params)
    except click.BadParameter:
        unknown = _unknown_first_word(workflow, params)
        if unknown is None:
            raise
        return _handle_workflow_exception(ctx, unknown, None, output_format, metrics, {}, verbose)
    try:
        state.source = resolve_workflow(workflow)
        _say(state, f"workflow '{state.source.name}' from {state.source.path}")
        # The schema check comes first: checking parameters assumes a well-formed IR.
        validate_ir_schema(state.source.ir)
        values = prepare_inputs(state.source.ir, words, from_text=True)
        stdin_data = read_stdin() if workflow_uses_stdin(state.source.ir) else None
    except Exception as exc:  # reported like any failure: no traceback, one JSON document
        _record_failed_start(state, words, exc)
        return _handle_workflow_exception(ctx, exc, None, output_format, metrics, {}, verbose)
    if values:
        _say(state, f"parameters: {dumps_utf8(redact(values), indent=None, default=str)}")
    return execute_json_workflow(
        ctx, state.source.ir, stdin_data, output_key, values, None, output_format, metrics
    )


def _unknown_first_word(word: str, rest: tuple[str, ...]) -> WorkflowNotFoundError | None:
    """The error for `pflow WORD ...` when WORD names no file, saved workflow or command.

    Then the words after it are not parameters but a mistyped command line, such as
    `pflow workflows list`: the hint names the nearest command, else the nearest workflow.
    """
    manager = WorkflowManager()
    if looks_like_path(word) or Path(word).exists() or manager.exists(word):
        return None
    hint = "Run 'pflow --help' for the commands, or 'pflow workflow list' for saved workflows"
    command = similar_names(word, list(COMMAND_NAMES), limit=1)
    workflows = similar_names(word, saved_names(manager), limit=1)
    if command:
        hint = f"Did you mean 'pflow {' '.join((command[0], *rest))}'?"
    elif workflows:
        hint = f"Did you mean 'pflow {' '.join((workflows[0], *rest))}'?"
    return WorkflowNotFoundError(
        f"'{word}' is not a workflow file, a saved workflow or a pflow command", hint=hint
    )


def _record_failed_start(state: RunContext, words: dict[str, str], exc: Exception) -> None:
    """A saved workflow given bad parameters still gets a history entry.

    Other failures before the run (an unreadable file, an IR that breaks the schema) leave the
    saved file as it is: a history entry cannot make a broken file valid.
    """
    name = state.source.saved_name if state.source is not None else None
    if name is None or not isinstance(exc, ParameterError):
        return
    service = WorkflowExecutorService(workflow_manager=WorkflowManager())
    _warn_not_recorded(service.record_failure(name, dict(words), exc))


def _warn_not_recorded(problem: str | None) -> None:
    """The one stderr line for a history that could not be written (nothing else changes)."""
    if problem is not None:
        click.echo(f"Warning: the run was not recorded: {problem}", err=True)


def parse_param_words(words: tuple[str, ...]) -> dict[str, str]:
    """Split KEY=VALUE words at the first `=`; later duplicates win."""
    params: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise click.BadParameter(
                f"expected KEY=VALUE, got {word!r}. Options go before '--'; "
                f"a value containing spaces needs quotes: key='a b'",
                param_hint="PARAMS",
            )
        params[key] = value
    return params


def execute_json_workflow(
    ctx: click.Context,
    ir_data: dict[str, Any],
    stdin_data: str | bytes | None,
    output_key: str | None,
    params: dict[str, Any] | None,
    planner_llm_calls: list[dict[str, Any]] | None,
    output_format: str,
    metrics_collector: MetricsCollector | None,
) -> int:
    """Run `ir_data` through the executor service, then hand the outcome to a handler."""
    state: RunContext = ctx.obj
    verbose = state.verbose
    trace = WorkflowTraceCollector(state.trace_name) if state.trace else None
    saved_name = state.source.saved_name if state.source is not None else None
    service = WorkflowExecutorService(
        workflow_manager=WorkflowManager() if saved_name else None,
        output_controller=state.output,
        abort_on_first_error=not state.keep_going,
    )
    _say(state, f"workflow has {len(ir_data.get('nodes') or [])} node(s)")
    try:
        try:
            result = service.execute_workflow(
                ir_data,
                params or {},
                workflow_name=saved_name,
                stdin_data=stdin_data,
                output_key=output_key,
                planner_llm_calls=planner_llm_calls,
                metrics_collector=metrics_collector,
                trace_collector=trace,
            )
        except WorkflowInterrupted as interrupted:
            state.errors = interrupted.result.errors if state.keep_going else None
            _finish_trace(trace, "failed")
            if output_format != "json":
                raise  # app.run() prints "Interrupted." and exits 130
            shared = interrupted.result.shared_after
            return _handle_workflow_exception(
                ctx, interrupted, trace, output_format, metrics_collector, shared, verbose
            )
        state.last_node_id = result.last_node_id
        state.errors = result.errors if state.keep_going else None
        _warn_not_recorded(result.metadata_error)
        shared = result.shared_after
        if result.exception is not None:
            _finish_trace(trace, "failed")
            return _handle_workflow_exception(
                ctx, result.exception, trace, output_format, metrics_collector, shared, verbose
            )
        if not result.success:
            _finish_trace(trace, "error")
            return _handle_workflow_error(
                ctx, trace, output_format, metrics_collector, shared, verbose
            )
        _finish_trace(trace, "success")
        return _handle_workflow_success(
            ctx, trace, shared, output_key, ir_data, output_format, metrics_collector, verbose
        )
    finally:
        _save_trace(trace)


def _handle_workflow_success(
    ctx: click.Context,
    workflow_trace: WorkflowTraceCollector | None,
    shared_storage: dict[str, Any],
    output_key: str | None,
    ir_data: dict[str, Any],
    output_format: str,
    metrics_collector: MetricsCollector | None,
    verbose: bool,
) -> int:
    """Print the run's result (text or JSON) and return exit code 0."""
    state: RunContext = ctx.obj
    if output_format == "json":
        document = {
            "success": True,
            "result": json_result(shared_storage, ir_data, output_key),
            "workflow": state.workflow_info,
            **_metrics_fields(metrics_collector, shared_storage),
        }
        echo_stdout(dump_document(document))
        return ExitCode.SUCCESS
    value, warning = text_result(shared_storage, ir_data, output_key)
    if warning:
        warn(warning)
    _say(state, "workflow completed")
    echo_stdout(format_value(value))
    return ExitCode.SUCCESS


def _handle_workflow_error(
    ctx: click.Context,
    workflow_trace: WorkflowTraceCollector | None,
    output_format: str,
    metrics_collector: MetricsCollector | None,
    shared_storage: dict[str, Any],
    verbose: bool,
) -> int:
    """Report a run that ended on an error action; exit code 1."""
    state: RunContext = ctx.obj
    ir = state.source.ir if state.source is not None else {}
    if state.errors:
        error = keep_going_failure(state.errors)
    else:
        error = error_action_failure(ir, shared_storage, state.last_node_id)
    return _handle_workflow_exception(
        ctx, error, workflow_trace, output_format, metrics_collector, shared_storage, verbose
    )


def _handle_workflow_exception(
    ctx: click.Context,
    e: BaseException,
    workflow_trace: WorkflowTraceCollector | None,
    output_format: str,
    metrics_collector: MetricsCollector | None,
    shared_storage: dict[str, Any],
    verbose: bool,
) -> int:
    """Report any failure as a text block on stderr or one JSON document; return its code."""
    state: RunContext = ctx.obj
    if output_format != "json":
        return report_error(e, verbose=verbose)
    document: dict[str, Any] = {"success": False, "error": error_document(e)}
    if state.keep_going:  # every failure, not just the summary
        errors = state.errors or ([exception_error(e)] if isinstance(e, Exception) else [])
        document["errors"] = to_json_safe(errors)
    document |= {
        "workflow": state.workflow_info,
        **_metrics_fields(metrics_collector, shared_storage),
    }
    echo_stdout(dump_document(document))
    return exit_code_for(e)


def _metrics_fields(collector: MetricsCollector | None, shared: dict[str, Any]) -> dict[str, Any]:
    if collector is None:
        return {}
    calls = shared.get("__llm_calls__")
    summary = collector.get_summary(calls if isinstance(calls, list) else [])
    return {
        "duration_ms": summary["duration_ms"],
        "total_cost_usd": summary["total_cost_usd"],
        "nodes_executed": summary["nodes_executed"],
        "metrics": summary["metrics"],
    }


def _finish_trace(trace: WorkflowTraceCollector | None, status: str) -> None:
    if trace is not None:
        trace.finish(status)


def _save_trace(trace: WorkflowTraceCollector | None) -> None:
    if trace is None:
        return
    try:
        path = trace.save(debug_dir())
    except OSError as exc:
        warn(f"could not save the trace: {exc}")
        return
    click.echo(f"Trace saved: {path}", err=True)


def _say(state: RunContext, message: str) -> None:
    if state.verbose:
        click.echo(f"pflow: {message}", err=True)
