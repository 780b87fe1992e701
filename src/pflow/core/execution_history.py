"""Execution history of saved workflows: what is recorded in `rich_metadata` after each run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pflow.foundation.json_safe import to_json_safe
from pflow.runtime.redaction import REDACTED, redact, scrub_all, secret_values

__all__ = ["REDACTED", "history_updates", "redact_params"]

MAX_VALUE_CHARS = 500  # longer text values are cut: history is a summary, not a log
MAX_ERRORS = 20


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of run parameters with secret-looking values replaced (at any depth)."""
    redacted: dict[str, Any] = _summarise(redact(params))
    return redacted


def history_updates(
    success: bool, params: dict[str, Any], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The `rich_metadata` updates recording one run (the count increments what is stored)."""
    secrets = secret_values(params)
    return {
        "last_execution_timestamp": datetime.now(UTC).isoformat(timespec="microseconds"),
        "last_execution_success": success,
        "last_execution_params": redact_params(params),
        # Messages may quote a command's output: secret values are scrubbed before the cut.
        "last_execution_errors": [_summarise(scrub_all(e, secrets)) for e in errors[:MAX_ERRORS]],
        "execution_count": _increment,
    }


def _increment(stored: Any) -> int:
    valid = isinstance(stored, int) and not isinstance(stored, bool) and stored >= 0
    return (stored if valid else 0) + 1


def _summarise(value: Any) -> Any:
    return to_json_safe(value, MAX_VALUE_CHARS)
