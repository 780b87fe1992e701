"""`pflow workflow ...`: list, describe, save and delete saved workflows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pflow.cli.errors import report_error
from pflow.cli.exit_codes import ExitCode
from pflow.cli.output import echo_stdout
from pflow.cli.state import workflow_manager
from pflow.core.results import dump_document
from pflow.core.workflow_checks import check_before_save, is_required, validate_ir_schema
from pflow.core.workflow_source import load_workflow_file
from pflow.foundation.exceptions import PflowError


@click.group(name="workflow")
def workflow_group() -> None:
    """Manage saved workflows (stored in ~/.pflow/workflows, or $PFLOW_HOME/workflows).

    \b
    Examples:
      pflow workflow save my-flow.json my-flow --description "Greets people"
      pflow workflow list
      pflow my-flow name=Ada
    """


@workflow_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the saved files as a JSON array.")
def workflow_list(as_json: bool) -> int:
    """List saved workflows with their descriptions.

    Example: pflow workflow list --json
    """
    manager = workflow_manager()
    workflows = manager.list_all()
    for problem in manager.problems:
        click.echo(f"Warning: {problem}", err=True)
    if as_json:
        echo_stdout(dump_document(workflows))
        return ExitCode.SUCCESS
    if not workflows:
        echo_stdout("No saved workflows.\nSave one with: pflow workflow save FILE NAME")
        return ExitCode.SUCCESS
    width = max(len(w["name"]) for w in workflows)
    lines = [f"{w['name']:<{width}}  {w.get('description') or ''}".rstrip() for w in workflows]
    echo_stdout("\n".join(lines))
    return ExitCode.SUCCESS


@workflow_group.command(name="describe")
@click.argument("name")
def workflow_describe(name: str) -> int:
    """Show a saved workflow's description, inputs and outputs.

    Example: pflow workflow describe my-flow
    """
    try:
        wrapper = workflow_manager().load(name)
        validate_ir_schema(wrapper["ir"])  # the description reads inputs and outputs
    except PflowError as exc:
        return report_error(exc)
    echo_stdout(describe_text(name, wrapper))
    return ExitCode.SUCCESS


@workflow_group.command(name="save")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("name")
@click.option("--description", "-d", default=None, help="One line saying what it does.")
@click.option("--force", "-f", is_flag=True, help="Replace a saved workflow of the same name.")
def workflow_save(file: Path, name: str, description: str | None, force: bool) -> int:
    """Check the workflow in FILE and save it as NAME, runnable as `pflow NAME`.

    Example: pflow workflow save examples/hello.json hello -d "Say hello"
    """
    try:
        ir = load_workflow_file(file)
        check_before_save(ir)
        path = workflow_manager().save(name, ir, description, force=force)
    except PflowError as exc:
        return report_error(exc)
    click.echo(f"Saved workflow '{name}' to {path}", err=True)
    return ExitCode.SUCCESS


@workflow_group.command(name="delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def workflow_delete(name: str, yes: bool) -> int:
    """Delete the saved workflow NAME.

    Example: pflow workflow delete my-flow --yes
    """
    manager = workflow_manager()
    try:
        # Only existence matters: a corrupt saved file can be deleted too.
        if not yes and manager.exists(name):
            if not sys.stdin.isatty():
                raise click.UsageError(
                    f"Refusing to delete '{name}' without confirmation: add --yes"
                )
            # "no" is a decision, not an interrupt: only Ctrl-C at the prompt means exit 130
            if not click.confirm(f"Delete saved workflow '{name}'?", err=True):
                click.echo(f"Kept workflow '{name}'", err=True)
                return ExitCode.WORKFLOW_FAILED
        manager.delete(name)
    except PflowError as exc:
        return report_error(exc)
    click.echo(f"Deleted workflow '{name}'", err=True)
    return ExitCode.SUCCESS


def describe_text(name: str, wrapper: dict[str, Any]) -> str:
    """Human description of a saved workflow."""
    ir = wrapper.get("ir") or {}
    lines = [f"Workflow: {name}", f"Description: {wrapper.get('description') or '(none)'}", ""]
    inputs: dict[str, Any] = ir.get("inputs") or {}
    lines.append("Inputs:" if inputs else "Inputs: none")
    for input_name, decl in inputs.items():
        need = "required" if is_required(decl) else "optional"
        lines.append(
            f"  {input_name} ({decl.get('type', 'any')}, {need})"
            + (f": {decl['description']}" if decl.get("description") else "")
        )
        if "default" in decl:
            lines.append(f"    default: {_json(decl['default'])}")
    outputs: dict[str, Any] = ir.get("outputs") or {}
    lines.append("Outputs:" if outputs else "Outputs: none")
    for output_name, decl in outputs.items():
        lines.append(
            f"  {output_name}" + (f": {decl['description']}" if decl.get("description") else "")
        )
    example = " ".join(f"{n}=<value>" for n, d in inputs.items() if is_required(d))
    lines += ["", "Run it:", f"  pflow {name}{' ' + example if example else ''}"]
    return "\n".join(lines)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@workflow_group.command(name="history", hidden=True)  # hidden: `workflow --help` is recorded
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
def workflow_history(name: str, as_json: bool) -> int:
    """Show a saved workflow's run count, its last run and its recent recorded runs.

    Example: pflow workflow history my-flow --json
    """
    from pflow.cli.runs import stamp_text, summary
    from pflow.core.run_store import RunStore

    try:
        wrapper = workflow_manager().load(name)
        runs = [
            summary(r)
            for r in RunStore().records()
            if (r.get("workflow") or {}).get("name") == name
        ]
    except PflowError as exc:
        return report_error(exc)
    meta = wrapper.get("rich_metadata") or {}
    keys = ("last_execution_timestamp", "last_execution_success", "last_execution_params")
    history = {
        "name": name,
        "execution_count": meta.get("execution_count", 0),
        **{k: meta.get(k) for k in keys},
        "last_execution_errors": meta.get("last_execution_errors", []),
        "runs": runs[:10],
    }
    if as_json:
        echo_stdout(dump_document(history))
        return ExitCode.SUCCESS
    success, last = history["last_execution_success"], history["last_execution_timestamp"]
    lines = [
        f"Workflow: {name}",
        f"Runs: {history['execution_count']}",
        f"Last run: {'never' if last is None else stamp_text(last)}"
        + ("" if success is None else (" (succeeded)" if success else " (failed)")),
    ]
    for error in history["last_execution_errors"]:
        lines.append(f"  {error.get('message') if isinstance(error, dict) else error}")
    if runs:
        lines += ["", "Recent runs:"]
        lines += [
            f"  {r['run_id']}  {stamp_text(r['started_at'])}  {r['status']}"
            f"  {r['nodes_completed']}/{r['nodes_total']}"
            for r in runs[:10]
        ]
    echo_stdout("\n".join(lines))
    return ExitCode.SUCCESS
