"""The documented exit codes of the pflow command (see docs/cli.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses; each row is tested in tests/cli/test_exit_codes.py."""

    SUCCESS = 0  # the workflow ran and ended on a non-error action; a command succeeded
    WORKFLOW_FAILED = 1  # a node failed (error action or exception); other command failures
    USAGE = 2  # bad options or arguments (click's own code)
    INVALID_WORKFLOW = 3  # unreadable JSON, schema, template, unknown node type, bad parameters
    NOT_FOUND = 4  # workflow file or saved workflow name does not exist
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    BROKEN_PIPE = 141  # stdout was closed early (e.g. `pflow run x.json | head -1`)


EXIT_CODE_HELP = """\b
Exit codes:
  0    success
  1    the workflow ran and failed
  2    usage error (bad option or argument)
  3    invalid workflow or parameters
  4    workflow file or saved name not found
  130  interrupted (Ctrl-C)
  141  output pipe closed early"""
