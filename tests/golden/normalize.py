"""The golden normalisation contract: volatile values become named placeholders.

One function, `normalize`, is applied identically to a recorded run and a verified run.
Each rule is anchored, checks the shape of what it replaces, and has unit tests
(tests/golden/test_normalize.py). Anything no rule covers must match byte for byte.

Rules (placeholder: what it replaces):
  <TMP>          the per-case temporary root (exact string, longest first), only as a whole
                 path: not when a letter, digit, '.', '-' or '_' continues or precedes it
                 (the root /t/case is not a prefix of /t/case2)
  <PORT>         the port of the harness HTTP server (exact, after "127.0.0.1:")
  <REFUSED_PORT> the closed port used for connection-refused cases (exact, after "127.0.0.1:")
  <DURATION_MS>  JSON values at duration/timing key paths; must be non-negative numbers
  <SECONDS>      response_time values (JSON) ; must be non-negative numbers
  <ISO8601>      JSON values at timestamp key paths; must parse as ISO 8601 with a date and
                 time. When the run's time window is known, only times inside it (give or
                 take WINDOW_SLACK) are replaced: a time from a case's fixture files (say a
                 saved workflow's created_at that a forced save must keep) stays as it is
  <UUID>         JSON `execution_id` values; must parse as a UUID
  <ELAPSED>      the "1.2" of a progress line's " ✓ 1.2s"; must be digits "." digit
  <STAMP>        the YYYYmmdd-HHMMSS part of a trace file name; must be a valid time
  <FRAMES>       the frame lines of a Python traceback (file paths and line numbers of the
                 implementation), between the "Traceback (most recent call last):" line and
                 the exception line, which are both kept; the first frame line must start
                 with '  File "'

A JSON document whose lines all end in "\r\n" (as a terminal's output translation leaves
them) is normalised like the same document with "\n" and written back with "\r\n".
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

RULES_VERSION = "2"
WINDOW_SLACK = timedelta(seconds=2)

# JSON key paths (dot-separated, `*` matches any one key) and the placeholder of each.
JSON_PATH_RULES: tuple[tuple[str, str], ...] = (
    ("duration_ms", "<DURATION_MS>"),
    ("metrics.workflow.duration_ms", "<DURATION_MS>"),
    ("metrics.workflow.node_timings.*", "<DURATION_MS>"),
    ("nodes.*.duration_ms", "<DURATION_MS>"),
    ("start_time", "<ISO8601>"),
    ("end_time", "<ISO8601>"),
    ("execution_id", "<UUID>"),
    ("created_at", "<ISO8601>"),
    ("updated_at", "<ISO8601>"),
    ("*.created_at", "<ISO8601>"),
    ("*.updated_at", "<ISO8601>"),
    ("rich_metadata.last_execution_timestamp", "<ISO8601>"),
    ("*.rich_metadata.last_execution_timestamp", "<ISO8601>"),
    ("result.*.response_time", "<SECONDS>"),
    ("nodes.*.shared_after.*.response_time", "<SECONDS>"),
)

_PROGRESS_RE = re.compile(r"(?<= ✓ )(\d+\.\d)(?=s(?:\r?\n|$))")
_STAMP_RE = re.compile(r"(?<=workflow-trace-)([A-Za-z0-9._-]*?-)?(\d{8}-\d{6})(?=(?:-\d+)?\.json)")
# A traceback header at the start of a line, then its indented frame lines (each ending in a
# newline); the exception line that follows starts in column 0 and is kept.
_FRAMES_RE = re.compile(r"(?m)^(Traceback \(most recent call last\):\r?\n)((?:  [^\r\n]*\r?\n)+)")


class NormalizationError(ValueError):
    """A value at a normalised place did not have the expected shape."""


@dataclass(frozen=True)
class NormContext:
    """The run-specific values a normalisation needs to know."""

    tmp_root: str
    port: int | None = None
    refused_port: int | None = None
    # (start, end) of the run, timezone-aware; None replaces every valid timestamp.
    run_window: tuple[datetime, datetime] | None = None


def normalize(data: bytes, ctx: NormContext, *, json_document: bool = False) -> bytes:
    """Normalise one captured stream or file."""
    text = data.decode("utf-8", errors="surrogateescape")
    if json_document:
        text = normalize_json_text(text, ctx.run_window)
    text = replace_exact(text, ctx)
    text = _PROGRESS_RE.sub(lambda m: _check_elapsed(m.group(1)), text)
    text = _STAMP_RE.sub(lambda m: (m.group(1) or "") + _check_stamp(m.group(2)), text)
    text = _FRAMES_RE.sub(_replace_frames, text)
    return text.encode("utf-8", errors="surrogateescape")


def replace_exact(text: str, ctx: NormContext) -> str:
    """Replace the known temporary root and ports."""
    roots = {ctx.tmp_root.rstrip("/"), _resolved(ctx.tmp_root).rstrip("/")}
    for root in sorted(roots, key=len, reverse=True):
        if root:
            text = re.sub(rf"(?<![\w.-]){re.escape(root)}(?![\w.-])", "<TMP>", text)
    for port, name in ((ctx.port, "<PORT>"), (ctx.refused_port, "<REFUSED_PORT>")):
        if port is not None:
            text = re.sub(rf"(?<=127\.0\.0\.1:){port}(?!\d)", name, text)
    return text


def normalize_json_text(text: str, window: tuple[datetime, datetime] | None = None) -> str:
    """Normalise a JSON document by key path, re-serialised in pflow's own layout.

    pflow prints JSON with a 2-space indent, UTF-8 characters and an optional trailing
    newline; a document that does not round-trip to the same bytes is left alone so the
    comparison shows the difference instead of hiding it. A document whose every line ends
    in CRLF (a terminal) is handled as its LF form and given its CRLFs back.
    """
    if "\r\n" in text and "\n" not in text.replace("\r\n", ""):
        return normalize_json_text(text.replace("\r\n", "\n"), window).replace("\n", "\r\n")
    stripped = text.rstrip("\n")
    trailer = text[len(stripped) :]
    try:
        document = json.loads(stripped)
    except ValueError:
        return text
    if json.dumps(document, indent=2, ensure_ascii=False) != stripped:
        return text
    normalized = _walk(document, (), window)
    return json.dumps(normalized, indent=2, ensure_ascii=False) + trailer


def _walk(value: Any, path: tuple[str, ...], window: tuple[datetime, datetime] | None) -> Any:
    if isinstance(value, dict):
        return {k: _apply(v, (*path, k), window) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, "*"), window) for v in value]
    return value


def _apply(value: Any, path: tuple[str, ...], window: tuple[datetime, datetime] | None) -> Any:
    for pattern, placeholder in JSON_PATH_RULES:
        if _matches(pattern.split("."), path) and value is not None:
            return _check(placeholder, value, path, window)
    return _walk(value, path, window)


def _matches(pattern: list[str], path: tuple[str, ...]) -> bool:
    if len(pattern) != len(path):
        return False
    return all(p in ("*", k) for p, k in zip(pattern, path, strict=True))


def _check(
    placeholder: str,
    value: Any,
    path: tuple[str, ...],
    window: tuple[datetime, datetime] | None = None,
) -> Any:
    where = ".".join(path)
    if placeholder in ("<DURATION_MS>", "<SECONDS>"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise NormalizationError(f"{where}: expected a non-negative number, got {value!r}")
    elif placeholder == "<ISO8601>":
        if not isinstance(value, str) or "T" not in value:
            raise NormalizationError(f"{where}: expected an ISO 8601 date-time, got {value!r}")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise NormalizationError(f"{where}: not ISO 8601: {value!r}") from None
        if window is not None and not _within(moment, window):
            return value  # a fixed time from the case's own files: compared as it is
    elif placeholder == "<UUID>":
        try:
            uuid.UUID(str(value))
        except ValueError:
            raise NormalizationError(f"{where}: not a UUID: {value!r}") from None
    return placeholder


def _within(moment: datetime, window: tuple[datetime, datetime]) -> bool:
    """Whether `moment` (naive means UTC) lies in the run's window, give or take the slack."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    start, end = window
    return start - WINDOW_SLACK <= moment <= end + WINDOW_SLACK


def _replace_frames(match: re.Match[str]) -> str:
    header, frames = match.group(1), match.group(2)
    if not frames.startswith('  File "'):
        raise NormalizationError(f"traceback without a frame line: {frames[:60]!r}")
    newline = "\r\n" if header.endswith("\r\n") else "\n"
    return f"{header}  <FRAMES>{newline}"


def _check_elapsed(value: str) -> str:
    float(value)  # the regex admits only digits "." digit
    return "<ELAPSED>"


def _check_stamp(value: str) -> str:
    try:
        datetime.strptime(value, "%Y%m%d-%H%M%S")
    except ValueError:
        raise NormalizationError(f"not a trace time stamp: {value!r}") from None
    return "<STAMP>"


def _resolved(path: str) -> str:
    from pathlib import Path

    try:
        return str(Path(path).resolve())
    except OSError:
        return path
