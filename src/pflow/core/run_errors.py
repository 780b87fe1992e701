"""Structured errors of a run: what failed, where, and whether editing the workflow can fix it.

These dicts follow `$defs/error` of schemas/execution-result.schema.json and are stored in
saved workflows' `last_execution_errors`.
"""

from __future__ import annotations

from typing import Any

from pflow.foundation.exceptions import (
    InvalidWorkflowError,
    NodeParamError,
    PflowError,
    WorkflowFailedError,
    WorkflowStorageError,
)
from pflow.runtime.flow import NodeFailure

# Words that mark a failure no change to the workflow or its inputs can fix.
_NOT_FIXABLE = (
    "api key",
    "authentication",
    "unauthorized",
    "forbidden",
    "rate limit",
    "quota",
    "connection refused",
    "could not connect",
    "timed out",
    "timeout",
    "permission denied",
    "out of memory",
)


def error_action_failure(
    ir: dict[str, Any], shared: dict[str, Any], node_id: str | None
) -> WorkflowFailedError:
    """The error describing a run that ended on node `node_id`'s error action."""
    namespace = shared.get(node_id or "")
    reason = namespace.get("error") if isinstance(namespace, dict) else None
    node_type = next((n.get("type") for n in ir.get("nodes") or [] if n.get("id") == node_id), None)
    return WorkflowFailedError(
        f"Node '{node_id}' ({node_type}) failed: {reason or 'it returned an error action'}",
        node_id=node_id,
        node_type=node_type,
        hint=f'Add an edge from \'{node_id}\' with "action": "error" to handle this failure',
    )


def failure_error(error: WorkflowFailedError) -> dict[str, Any]:
    """The structured error of a node's error action."""
    return _located(
        {
            "message": error.message,
            "category": "execution_failure",
            "source": "runtime",
            "fixable": is_fixable(error.message),
        },
        error,
    )


def exception_error(exc: Exception) -> dict[str, Any]:
    """The structured error of an exception raised while compiling or running."""
    invalid = isinstance(exc, InvalidWorkflowError)
    message = exc.message if isinstance(exc, PflowError) else str(exc) or type(exc).__name__
    entry: dict[str, Any] = {
        "message": message,
        "category": "validation" if invalid else "exception",
        "source": "validation" if invalid else "runtime",
        "exception_type": type(exc).__name__,
        # An invalid workflow or parameter is fixed by editing it, whatever its message says.
        "fixable": isinstance(exc, InvalidWorkflowError | NodeParamError)
        or (is_fixable(message) and not isinstance(exc, WorkflowStorageError)),
    }
    return _located(entry, exc) if isinstance(exc, PflowError) else entry


def is_fixable(message: str) -> bool:
    """Whether editing the workflow or its inputs could fix the failure `message` describes."""
    lowered = message.lower()
    return not any(word in lowered for word in _NOT_FIXABLE)


def _located(entry: dict[str, Any], error: PflowError) -> dict[str, Any]:
    for key in ("node_id", "node_type", "pointer", "hint", "details"):
        value = getattr(error, key)
        if value is not None:
            entry[key] = value
    return entry


def failure_entries(
    ir: dict[str, Any], shared: dict[str, Any], failures: list[NodeFailure]
) -> list[dict[str, Any]]:
    """The structured errors of a keep-going walk, in execution order."""
    entries: list[dict[str, Any]] = []
    for failure in failures:
        if failure.kind == "exception" and failure.error is not None:
            entries.append(exception_error(failure.error))
        elif failure.kind == "error_action":
            described = error_action_failure(ir, shared, failure.node_id)
            entries.append({**failure_error(described), "action": failure.action})
        else:
            entries.append(
                {
                    "message": f"Node '{failure.node_id}' ({failure.node_type}) was skipped: "
                    f"it needs the outputs of '{failure.waiting_for}', which did not run "
                    "successfully",
                    "category": "skipped",
                    "source": "runtime",
                    "node_id": failure.node_id,
                    "node_type": failure.node_type,
                    "waiting_for": failure.waiting_for,
                    "fixable": True,
                }
            )
    return entries


def keep_going_failure(errors: list[dict[str, Any]]) -> WorkflowFailedError:
    """One error summing up a keep-going run: how many nodes failed or were skipped, and each."""
    skipped = sum(1 for e in errors if e.get("category") == "skipped")
    failed = len(errors) - skipped
    summary = f"{failed} node{'s' if failed != 1 else ''} failed"
    if skipped:
        summary += f" and {skipped} {'was' if skipped == 1 else 'were'} skipped"
    return WorkflowFailedError(
        summary,
        details="\n".join(f"- {e['message']}" for e in errors),
        hint="Nodes that did not depend on a failed node ran; fix the failures listed above",
    )
