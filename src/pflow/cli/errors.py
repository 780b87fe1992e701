"""The single place where errors become text on stderr (or a JSON document) and exit codes."""

from __future__ import annotations

import traceback
from typing import Any

import click

from pflow.cli.exit_codes import ExitCode
from pflow.foundation.exceptions import PflowError, interruption


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an exception that ended a command."""
    if isinstance(exc, PflowError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return interruption(exc).exit_code
    return ExitCode.WORKFLOW_FAILED


def as_pflow_error(exc: BaseException) -> PflowError:
    """`exc` itself when it is a PflowError, else a PflowError describing it."""
    if isinstance(exc, PflowError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return interruption(exc)
    return PflowError(
        f"Unexpected {type(exc).__name__}: {exc}",
        hint="This is probably a bug in pflow; run again with --verbose for the traceback",
    )


def error_lines(error: PflowError) -> list[str]:
    """The text block a user sees for an error, without colours."""
    lines = [f"Error: {error.message}"]
    if error.node_id is not None:
        kind = f" ({error.node_type})" if error.node_type else ""
        lines.append(f"  Node: {error.node_id}{kind}")
    if error.path is not None or error.pointer:
        where = error.path or ""
        if error.pointer:
            where = f"{where}#{error.pointer}" if where else error.pointer
        lines.append(f"  At: {where}")
    if error.details:
        lines.extend(f"  {line}" for line in error.details.splitlines())
    if error.hint:
        lines.append(f"Hint: {error.hint}")
    return lines


def report_error(exc: BaseException, *, verbose: bool = False) -> int:
    """Print `exc` as a text block on stderr and return its exit code."""
    error = as_pflow_error(exc)
    if verbose and (exc.__cause__ is not None or not isinstance(exc, PflowError)):
        cause = exc.__cause__ or exc
        trace = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
        click.echo(trace.rstrip("\n"), err=True)
    click.echo("\n".join(error_lines(error)), err=True)
    return exit_code_for(exc)


def error_document(exc: BaseException) -> dict[str, Any]:
    """The `error` member of a JSON failure document."""
    return as_pflow_error(exc).to_dict()


def warn(message: str) -> None:
    """One warning line on stderr."""
    click.echo(f"Warning: {message}", err=True)
