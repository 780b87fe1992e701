"""Execution history of saved workflows: what is recorded in `rich_metadata` after each run."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pflow.core.json_safe import to_json_safe
from pflow.runtime.ir_schema import load_schema

REDACTED = "<redacted>"
MAX_VALUE_CHARS = 500  # longer text values are cut: history is a summary, not a log
MAX_ERRORS = 20


@cache
def secret_key_pattern() -> re.Pattern[str]:
    """Keys whose values are never stored: the pattern the saved-workflow schema enforces."""
    rich = load_schema("saved-workflow.schema.json")["$defs"]["rich_metadata"]
    (pattern,) = rich["properties"]["last_execution_params"]["patternProperties"]
    return re.compile(pattern)


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """A JSON-safe copy of run parameters with secret-looking values replaced (at any depth)."""
    redacted: dict[str, Any] = _summarise(_redact(params))
    return redacted


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        secret = secret_key_pattern()
        return {k: REDACTED if secret.search(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def history_updates(
    success: bool, params: dict[str, Any], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The `rich_metadata` updates recording one run (the count increments what is stored)."""
    return {
        "last_execution_timestamp": datetime.now(UTC).isoformat(timespec="microseconds"),
        "last_execution_success": success,
        "last_execution_params": redact_params(params),
        "last_execution_errors": [_summarise(e) for e in errors[:MAX_ERRORS]],
        "execution_count": _increment,
    }


def _increment(stored: Any) -> int:
    valid = isinstance(stored, int) and not isinstance(stored, bool) and stored >= 0
    return (stored if valid else 0) + 1


def _summarise(value: Any) -> Any:
    return to_json_safe(value, MAX_VALUE_CHARS)
