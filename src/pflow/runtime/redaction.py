"""Keeping secrets out of what pflow writes down: history, traces, verbose lines, errors.

A parameter is secret when its name matches `secret_key_pattern()` (token, secret, password,
api key, auth, credential, private key), at any depth of a value. Its value is replaced by
REDACTED under its key, and, where free text is stored (error messages, command output in a
trace), every occurrence of its text is replaced too. Values shorter than
MIN_SCRUBBED_CHARS are only redacted under their key: blanking out every "ab" of a message
would hide more than it protects.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pflow.foundation.schemas import load_schema

REDACTED = "<redacted>"
MIN_SCRUBBED_CHARS = 4


@cache
def secret_key_pattern() -> re.Pattern[str]:
    """Keys whose values are never stored: the pattern the saved-workflow schema enforces."""
    rich = load_schema("saved-workflow.schema.json")["$defs"]["rich_metadata"]
    (pattern,) = rich["properties"]["last_execution_params"]["patternProperties"]
    return re.compile(pattern)


def is_secret_name(name: Any) -> bool:
    """Whether a parameter or key of this name holds a secret."""
    return secret_key_pattern().search(str(name)) is not None


def redact(value: Any) -> Any:
    """A copy of `value` with the value of every secret-named key replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def secret_values(value: Any) -> list[str]:
    """The text of every value held under a secret-named key, longest first.

    Containers under a secret key count with all their leaves; short values are left out
    (see MIN_SCRUBBED_CHARS).
    """
    found: set[str] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        current, secret = stack.pop()
        if isinstance(current, dict):
            stack.extend((v, secret or is_secret_name(k)) for k, v in current.items())
        elif isinstance(current, list | tuple):
            stack.extend((v, secret) for v in current)
        elif secret and current is not None and not isinstance(current, bool):
            text = str(current)
            if len(text) >= MIN_SCRUBBED_CHARS:
                found.add(text)
    return sorted(found, key=lambda text: (-len(text), text))


def scrub(text: str, values: list[str]) -> str:
    """`text` with every occurrence of each of `values` replaced by REDACTED."""
    for secret in values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub_all(value: Any, values: list[str]) -> Any:
    """A copy of `value` with `values` scrubbed out of every string in it (keys too)."""
    if not values:
        return value
    if isinstance(value, str):
        return scrub(value, values)
    if isinstance(value, dict):
        return {scrub_all(k, values): scrub_all(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_all(v, values) for v in value]
    return value
