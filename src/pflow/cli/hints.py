"""Hints for a command line that names nothing pflow knows."""

from __future__ import annotations

from pathlib import Path

from pflow.cli.root import COMMAND_NAMES
from pflow.core.workflow_manager import WorkflowManager
from pflow.core.workflow_source import looks_like_path, saved_names, similar_names
from pflow.foundation.exceptions import WorkflowNotFoundError


def unknown_first_word(
    word: str, rest: tuple[str, ...], manager: WorkflowManager
) -> WorkflowNotFoundError | None:
    """The error for `pflow WORD ...` when WORD names no file, saved workflow or command.

    Then the words after it are not parameters but a mistyped command line, such as
    `pflow workflows list`: the hint names the nearest command, else the nearest workflow.
    """
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
