"""`pflow run`: parse the command line, hand the run to RunPipeline, render its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from pflow.cli.errors import error_document, exit_code_for, report_error, warn
from pflow.cli.exit_codes import EXIT_CODE_HELP, ExitCode
from pflow.cli.hints import unknown_first_word
from pflow.cli.output import echo_stdout
from pflow.cli.run_options import run_options
from pflow.cli.state import workflow_manager
from pflow.core.metrics import MetricsCollector
from pflow.core.output_controller import OutputController
from pflow.core.results import dump_document, format_value, json_result, text_result
from pflow.core.run_errors import exception_error
from pflow.core.run_pipeline import RunOutcome, RunPipeline, RunRequest
from pflow.foundation.json_safe import to_json_safe


@dataclass
class RunContext:
    """What the run command knows about the current invocation (kept in `ctx.obj`)."""

    outcome: RunOutcome
    verbose: bool = False


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
@run_options(
    "json prints one document with result and metrics.",
    click.option(
        "--keep-going",
        is_flag=True,
        # Hidden so `pflow run --help` keeps its recorded bytes (golden/); docs/cli.md has it.
        hidden=True,
        help="After a node fails, run every node that does not need its outputs; report all.",
    ),
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
    as_json = output_format == "json"
    request = RunRequest(workflow, {}, output_key=output_key, keep_going=keep_going)
    state = start_run(ctx, request, trace=trace, output_format=output_format, verbose=verbose)
    try:
        request.params = parse_param_words(params)
    except click.BadParameter:
        unknown = unknown_first_word(workflow, params, workflow_manager(ctx))
        if unknown is None:
            raise
        state.outcome.error = unknown
        state.outcome.metrics_summary = MetricsCollector().get_summary([]) if as_json else None
        return _handle_workflow_exception(ctx, unknown, None, output_format, None, {}, verbose)
    state.outcome = outcome = run_pipeline(ctx, print_flag, output_format, verbose).run(request)
    return finish_run(ctx, outcome, output_format)


def start_run(
    ctx: click.Context, request: RunRequest, *, trace: bool, output_format: str, verbose: bool
) -> RunContext:
    """The request's trace and metrics switches set, and the invocation's RunContext."""
    request.trace, request.collect_metrics = trace, output_format == "json"
    ctx.obj = state = RunContext(RunOutcome(request), verbose)
    return state


def run_pipeline(
    ctx: click.Context, print_flag: bool, output_format: str, verbose: bool
) -> RunPipeline:
    """The pipeline `pflow run` and `pflow resume` hand their request to."""
    return RunPipeline(
        manager=workflow_manager(ctx),
        output=OutputController(print_flag, output_format),
        on_step=(lambda message: click.echo(f"pflow: {message}", err=True)) if verbose else None,
    )


def finish_run(ctx: click.Context, outcome: RunOutcome, output_format: str) -> int:
    """Warnings about what could not be recorded, the outcome, then the trace line."""
    if outcome.not_recorded is not None:
        click.echo(f"Warning: the run was not recorded: {outcome.not_recorded}", err=True)
    if outcome.record_problem is not None:
        warn(outcome.record_problem)
    try:
        return render_outcome(ctx, outcome, output_format)
    finally:
        if outcome.trace_path is not None:
            click.echo(f"Trace saved: {outcome.trace_path}", err=True)
        elif outcome.trace_problem is not None:
            warn(outcome.trace_problem)


def render_outcome(ctx: click.Context, outcome: RunOutcome, output_format: str) -> int:
    """Print what the run produced and return the exit code."""
    verbose = ctx.obj.verbose
    shared = outcome.shared_after
    if outcome.interrupted and output_format != "json":
        assert outcome.error is not None
        raise outcome.error  # app.run() prints "Interrupted." and exits 130 (or 143, 129)
    if outcome.error is not None:
        return _handle_workflow_exception(
            ctx, outcome.error, None, output_format, None, shared, verbose
        )
    if outcome.result is not None and not outcome.result.success:
        return _handle_workflow_error(ctx, None, output_format, None, shared, verbose)
    return _handle_workflow_success(
        ctx, None, shared, outcome.request.output_key, outcome.ir, output_format, None, verbose
    )


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


def _handle_workflow_success(
    ctx: click.Context,
    workflow_trace: Any,
    shared_storage: dict[str, Any],
    output_key: str | None,
    ir_data: dict[str, Any],
    output_format: str,
    metrics_collector: Any,
    verbose: bool,
) -> int:
    """Print the run's result (text or JSON) and return exit code 0."""
    outcome: RunOutcome = ctx.obj.outcome
    if output_format == "json":
        document = {
            "success": True,
            "result": json_result(shared_storage, ir_data, output_key),
            "workflow": outcome.workflow_info,
            **_metrics_fields(outcome.metrics_summary),
            **_resume_fields(outcome),
        }
        echo_stdout(dump_document(document))
        return ExitCode.SUCCESS
    value, warning = text_result(shared_storage, ir_data, output_key)
    if warning:
        warn(warning)
    if verbose:
        click.echo("pflow: workflow completed", err=True)
    echo_stdout(format_value(value))
    return ExitCode.SUCCESS


def _handle_workflow_error(
    ctx: click.Context,
    workflow_trace: Any,
    output_format: str,
    metrics_collector: Any,
    shared_storage: dict[str, Any],
    verbose: bool,
) -> int:
    """Report a run that ended on an error action (or failures of --keep-going); exit 1."""
    outcome: RunOutcome = ctx.obj.outcome
    assert outcome.error is not None, "the pipeline names the failure of every failed run"
    error = outcome.error
    return _handle_workflow_exception(
        ctx, error, workflow_trace, output_format, metrics_collector, shared_storage, verbose
    )


def _handle_workflow_exception(
    ctx: click.Context,
    e: BaseException,
    workflow_trace: Any,
    output_format: str,
    metrics_collector: Any,
    shared_storage: dict[str, Any],
    verbose: bool,
) -> int:
    """Report any failure as a text block on stderr or one JSON document; return its code."""
    outcome: RunOutcome = ctx.obj.outcome
    if output_format != "json" or exit_code_for(e) == ExitCode.USAGE:
        return report_error(e, verbose=verbose)  # usage errors stay off stdout, as click's do
    document: dict[str, Any] = {"success": False, "error": error_document(e)}
    if outcome.request.keep_going:  # every failure, not just the summary
        errors = outcome.errors or ([exception_error(e)] if isinstance(e, Exception) else [])
        document["errors"] = to_json_safe(errors)
    document |= {"workflow": outcome.workflow_info, **_metrics_fields(outcome.metrics_summary)}
    document |= _resume_fields(outcome)
    echo_stdout(dump_document(document))
    return exit_code_for(e)


def _metrics_fields(summary: dict[str, Any] | None) -> dict[str, Any]:
    if summary is None:
        return {}
    keys = ("duration_ms", "total_cost_usd", "nodes_executed", "metrics")
    return {key: summary[key] for key in keys}


def _resume_fields(outcome: RunOutcome) -> dict[str, Any]:
    """`resume` in the JSON document of `pflow resume`: which nodes were reused."""
    if outcome.resumed_from is None:
        return {}
    return {
        "resume": {
            "resumed_from": outcome.resumed_from,
            "run_id": outcome.run_id,
            "cached_nodes": outcome.cached_nodes,
        }
    }
