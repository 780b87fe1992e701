"""Finding the workflow a user named: a JSON file path or the name of a saved workflow."""

from __future__ import annotations

import difflib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.exceptions import (
    InvalidWorkflowError,
    WorkflowNotFoundError,
    WorkflowSyntaxError,
)
from pflow.foundation.json_safe import NestingError, loads_json
from pflow.runtime.ir_schema import nesting_error


@dataclass(frozen=True)
class WorkflowSource:
    """A loaded workflow and where it came from."""

    ir: dict[str, Any]
    kind: str  # "file" or "saved"
    name: str  # as the user typed it (file) or the saved name
    path: Path

    @property
    def saved_name(self) -> str | None:
        """The saved workflow's name, or None for a file."""
        return self.name if self.kind == "saved" else None


def looks_like_path(text: str) -> bool:
    """Whether `text` names a file rather than a saved workflow."""
    seps = [os.sep] + ([os.altsep] if os.altsep else [])
    return any(s in text for s in seps) or text.lower().endswith(".json")


def resolve_workflow(text: str, manager: WorkflowManager | None = None) -> WorkflowSource:
    """Load the workflow `text` refers to: an existing file path first, else a saved name."""
    manager = manager or WorkflowManager()
    if looks_like_path(text):
        path = Path(text).expanduser()
        if _exists(path):
            return WorkflowSource(load_workflow_file(path), "file", text, path.resolve())
        stem = text[:-5] if text.lower().endswith(".json") else text
        for name in (text, stem):
            if _valid_saved_name(name) and manager.exists(name):
                return _saved(manager, name)
        raise WorkflowNotFoundError(
            f"Workflow file '{text}' not found",
            hint="Check the path, or run 'pflow workflow list' to see saved workflows",
            path=str(path.absolute()),
        )
    if _valid_saved_name(text) and manager.exists(text):
        return _saved(manager, text)
    hint = "Run 'pflow workflow list' to see saved workflows"
    if _exists(Path(text)) and Path(text).is_file():
        hint = f"To run the file in this directory, write ./{text}"
    raise WorkflowNotFoundError(f"Workflow '{text}' not found", hint=_similar(manager, text, hint))


def load_workflow_file(path: Path) -> dict[str, Any]:
    """Parse a workflow file; errors say what is wrong, with line, column and context."""
    if path.is_dir():
        raise InvalidWorkflowError(
            f"'{path}' is a directory, not a workflow file",
            hint="Name a .json file inside it",
            path=str(path),
        )
    special = _special_file_kind(path)
    if special is not None:  # reading a FIFO or a device could block forever
        raise InvalidWorkflowError(
            f"'{path}' is {special}, not a regular workflow file",
            hint="Name a .json file; to pass data to a workflow, pipe it into pflow's stdin",
            path=str(path),
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkflowNotFoundError(
            f"Workflow file '{path}' not found", hint="Check the path", path=str(path)
        ) from None
    except OSError as exc:
        raise WorkflowSyntaxError(
            f"Cannot read workflow file: {exc.strerror or exc}", path=str(path)
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkflowSyntaxError(
            f"Workflow file is not UTF-8 text (byte {exc.start})",
            hint="Save the file as UTF-8",
            path=str(path),
        ) from None
    try:
        data = loads_json(text)
    except NestingError as exc:
        raise nesting_error(exc, str(path)) from None
    except json.JSONDecodeError as exc:
        raise WorkflowSyntaxError(
            f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            details=_context(text, exc.lineno, exc.colno),
            hint="Fix the JSON syntax and try again",
            path=str(path),
        ) from None
    except ValueError as exc:  # valid syntax pflow will not read: a 5,000-digit number
        raise WorkflowSyntaxError(
            f"Invalid JSON: {exc}", hint="Fix the value and try again", path=str(path)
        ) from None
    if not isinstance(data, dict):
        raise InvalidWorkflowError(
            f"A workflow must be a JSON object, but the file holds a JSON {_kind(data)}",
            hint='Start from {"ir_version": "0.1.0", "nodes": [...]}',
            path=str(path),
        )
    inner = data.get("ir")
    ir: dict[str, Any] = inner if isinstance(inner, dict) else data
    return dict(ir)


def _exists(path: Path) -> bool:
    """Whether `path` exists; a name the system cannot look up (too long) does not."""
    try:
        return path.exists()
    except OSError:
        return False


def _special_file_kind(path: Path) -> str | None:
    """'a FIFO', 'a socket' or 'a device' when `path` is one, else None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # reading reports it
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return None


def _saved(manager: WorkflowManager, name: str) -> WorkflowSource:
    return WorkflowSource(manager.load_ir(name), "saved", name, manager.get_path(name))


def _valid_saved_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def _similar(manager: WorkflowManager, text: str, fallback: str) -> str:
    close = similar_names(text, saved_names(manager))
    if not close:
        return fallback
    return "Did you mean " + " or ".join(f"'{n}'" for n in close) + "?"


def saved_names(manager: WorkflowManager) -> list[str]:
    """Names of the readable saved workflows ([] when the directory cannot be read)."""
    try:
        return [n for n in (w.get("name", "") for w in manager.list_all()) if n]
    except OSError:
        return []


def similar_names(text: str, names: list[str], limit: int = 3) -> list[str]:
    """Names that contain `text` or are contained in it, then near spellings (difflib)."""
    lowered = text.lower()
    close = [n for n in names if lowered in n.lower() or n.lower() in lowered]
    by_lower = {n.lower(): n for n in names}
    for near in difflib.get_close_matches(lowered, list(by_lower), n=limit, cutoff=0.6):
        if by_lower[near] not in close:
            close.append(by_lower[near])
    return close[:limit]


def _context(text: str, lineno: int, colno: int) -> str:
    lines = text.splitlines() or [""]
    shown = []
    if lineno > 1:
        shown.append(f"{lineno - 1:>4} | {lines[lineno - 2]}")
    current = lines[lineno - 1] if lineno - 1 < len(lines) else ""
    shown.append(f"{lineno:>4} | {current}")
    shown.append("     | " + " " * (colno - 1) + "^")
    return "\n".join(shown)


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
