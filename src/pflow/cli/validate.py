"""`pflow validate`: every check of `pflow run` on one or more workflows, with nothing run."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import click

from pflow.cli.errors import as_pflow_error, error_document, error_lines
from pflow.cli.exit_codes import ExitCode
from pflow.cli.output import echo_stdout
from pflow.cli.state import workflow_manager
from pflow.core.results import dump_document
from pflow.core.run_pipeline import CheckOutcome, RunPipeline
from pflow.foundation.exceptions import WorkflowNotFoundError

VALIDATE_HELP = """Check workflows without running them.

Each PATH_OR_NAME is a workflow file (an IR or a saved-workflow file), a saved workflow's
name, a directory (its *.json files) or a quoted glob such as 'workflows/*.json'. pflow
checks what it checks before a run: the schema, node types and parameters, edges and
templates. With KEY=VALUE parameters it also checks the inputs, as `pflow run` would;
without them, required inputs are not asked for.

\b
Examples:
  pflow validate examples/hello.json
  pflow validate workflows/*.json --output-format json
  pflow validate my-saved-flow name=Ada

\b
Exit codes:
  0    every workflow is valid
  3    at least one is invalid (and none is missing)
  4    at least one file or saved name was not found
"""


@click.command(name="validate", help=VALIDATE_HELP, no_args_is_help=True)
@click.argument("targets", nargs=-1, required=True, metavar="PATH_OR_NAME... [KEY=VALUE]...")
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    show_default=True,
    help="json prints one document listing every workflow checked.",
)
def validate_command(targets: tuple[str, ...], output_format: str) -> int:
    """Entry point of `pflow validate`."""
    names, params = split_words(targets)
    if not names:
        raise click.UsageError("Name at least one workflow file or saved workflow")
    pipeline = RunPipeline(manager=workflow_manager())
    outcomes = [pipeline.check(name, params) for name in expand(names)]
    if output_format.lower() == "json":
        document = {"valid": all(o.valid for o in outcomes), "workflows": _entries(outcomes)}
        echo_stdout(dump_document(document))
    else:
        _print_text(outcomes)
    return exit_code(outcomes)


def split_words(words: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Workflows and KEY=VALUE parameters (a word with `=` that is not an existing file)."""
    names: list[str] = []
    params: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key and not Path(word).exists():
            params[key] = value
        else:
            names.append(word)
    return names, params


def expand(names: list[str]) -> list[str]:
    """Directories become their *.json files and unexpanded globs their matches, in order."""
    found: list[str] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found += sorted(str(p) for p in path.glob("*.json")) or [name]
        elif not path.exists() and glob.has_magic(name):
            found += sorted(glob.glob(name)) or [name]
        else:
            found.append(name)
    return list(dict.fromkeys(found))


def exit_code(outcomes: list[CheckOutcome]) -> int:
    """4 when any workflow is missing, else 3 when any is invalid, else 0."""
    if any(isinstance(o.error, WorkflowNotFoundError) for o in outcomes):
        return ExitCode.NOT_FOUND
    if any(not o.valid for o in outcomes):
        return ExitCode.INVALID_WORKFLOW
    return ExitCode.SUCCESS


def _status(outcome: CheckOutcome) -> str:
    if outcome.valid:
        return "valid"
    return "not found" if isinstance(outcome.error, WorkflowNotFoundError) else "invalid"


def _print_text(outcomes: list[CheckOutcome]) -> None:
    """One status line per workflow on stdout; its warnings and error on stderr, under its name."""
    for outcome in outcomes:
        echo_stdout(f"{outcome.target}: {_status(outcome)}")
        lines = [f"Warning: {warning}" for warning in outcome.warnings]
        if outcome.error is not None:
            lines += error_lines(as_pflow_error(outcome.error))
        if lines:
            click.echo(
                "\n".join([f"{outcome.target}:", *(f"  {line}" for line in lines)]), err=True
            )
    if len(outcomes) > 1:
        valid = sum(o.valid for o in outcomes)
        click.echo(f"{valid} of {len(outcomes)} workflows are valid", err=True)


def _entries(outcomes: list[CheckOutcome]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"target": outcome.target, "status": _status(outcome)}
        if outcome.source is not None:
            entry["source"] = {"kind": outcome.source.kind, "path": str(outcome.source.path)}
        entry["warnings"] = list(outcome.warnings)
        if outcome.error is not None:
            entry["error"] = error_document(outcome.error)
        entries.append(entry)
    return entries
