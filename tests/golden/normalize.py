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
  <DURATION_MS>  JSON values at duration/timing key paths. Each must be a float (pflow rounds,
                 never truncates to an integer), non-negative, with at most the decimals pflow
                 rounds that path to (DURATION_DIGITS: 2 for run totals, 3 for node timings),
                 and no longer than the run's wall time plus DURATION_SLACK_MS: a value in
                 microseconds or with an unrounded precision is an error, not a placeholder
  <SECONDS>      response_time values (JSON): floats, non-negative, at most the run's wall time
                 in seconds (a value in milliseconds is an error)
  <ISO8601>      JSON values at timestamp key paths; must parse as ISO 8601 with a date and
                 time. When the run's time window is known, only times inside it (give or
                 take WINDOW_SLACK) are replaced: a time from a case's fixture files (say a
                 saved workflow's created_at that a forced save must keep) stays as it is.
                 A replaced time must have the one shape pflow writes: UTC with microseconds,
                 `2026-11-26T16:46:30.185428+00:00` (a naive or second-precision time is an
                 error)
  <UUID>         JSON `execution_id` values; must be a random (version 4) UUID in its
                 canonical lower-case, dashed form
  <ELAPSED>      the "1.2" of a progress line's " ✓ 1.2s"; must be digits "." digit, in
                 seconds: no more than the run's wall time (a value in milliseconds is an error)
  <STAMP>        the YYYYmmdd-HHMMSS part of a trace file name; must be a valid time inside the
                 run's window when the window is known
  <RUN_ID>       a run id (`20261207T054412Z-3f9a2c`: UTC time to the second, six hex digits)
                 whose time lies inside the run's window: a run the case made; the fixed ids
                 of a case's own run records stay as they are
  <FRAMES>       the frame lines of a Python traceback (file paths and line numbers of the
                 implementation), between the "Traceback (most recent call last):" line and
                 the exception line, which are both kept; the first frame line must start
                 with '  File "'

Relations inside one JSON document are checked before its values become placeholders, so
a value moved to the wrong key cannot hide: the workflow's `metrics.workflow.duration_ms` is
at most the run's `duration_ms`, every node timing is at most the workflow's duration, a trace
node's `duration_ms` is at most the trace's, `start_time` is not after `end_time` and
`created_at` not after `updated_at`. Costs and token counts are never normalised: they are
compared byte for byte.

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

RULES_VERSION = "3"
WINDOW_SLACK = timedelta(seconds=2)
# Durations pflow measures lie inside the harness's window; this absorbs rounding and clocks.
DURATION_SLACK_MS = 50.0
# A relation between two durations of one document allows their rounding.
RELATION_SLACK_MS = 0.01

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
    ("started_at", "<ISO8601>"),
    ("finished_at", "<ISO8601>"),
    ("runs.*.started_at", "<ISO8601>"),
    ("runs.*.finished_at", "<ISO8601>"),
    ("last_execution_timestamp", "<ISO8601>"),
    ("runs.*.duration_ms", "<DURATION_MS>"),
    ("result.*.response_time", "<SECONDS>"),
    ("nodes.*.shared_after.*.response_time", "<SECONDS>"),
)

# The decimals pflow rounds each duration path to.
DURATION_DIGITS: dict[str, int] = {
    "duration_ms": 2,
    "metrics.workflow.duration_ms": 2,
    "metrics.workflow.node_timings.*": 3,
    "nodes.*.duration_ms": 3,
    "runs.*.duration_ms": 2,
}
_PFLOW_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00")

_PROGRESS_RE = re.compile(r"(?<= ✓ )(\d+\.\d)(?=s(?:\r?\n|$))")
_RUN_ID_RE = re.compile(r"(?<![\w-])(\d{8}T\d{6})Z-[0-9a-f]{6}(?![\w-])")
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
    window = ctx.run_window
    text = _PROGRESS_RE.sub(lambda m: _check_elapsed(m.group(1), window), text)
    text = _STAMP_RE.sub(lambda m: (m.group(1) or "") + _check_stamp(m.group(2), window), text)
    text = _RUN_ID_RE.sub(lambda m: _run_id(m, window), text)
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
    newline, and writes run records as one-line objects (`json.dumps` spacing), normalised
    in that layout; a document that does not round-trip to the same bytes is left alone so the
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
    layout = _layout
    if _layout(document) != stripped:
        if not stripped.startswith("{") or _one_line(document) != stripped:
            return text
        layout = _one_line  # a run record's record.json or journal line
    check_relations(document)
    normalized = _walk(document, (), window)
    return layout(normalized) + trailer


def _layout(document: Any) -> str:
    """pflow's JSON layout: 2-space indent, UTF-8 text, lone surrogates as \\uXXXX escapes."""
    return _escaped(json.dumps(document, indent=2, ensure_ascii=False))


def _one_line(document: Any) -> str:
    """pflow's one-line JSON (run records): `json.dumps` spacing, otherwise as `_layout`."""
    return _escaped(json.dumps(document, ensure_ascii=False))


def _escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in text)


def _walk(value: Any, path: tuple[str, ...], window: tuple[datetime, datetime] | None) -> Any:
    if isinstance(value, dict):
        return {k: _apply(v, (*path, k), window) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, "*"), window) for v in value]
    return value


def _apply(value: Any, path: tuple[str, ...], window: tuple[datetime, datetime] | None) -> Any:
    for pattern, placeholder in JSON_PATH_RULES:
        if _matches(pattern.split("."), path) and value is not None:
            return _check(placeholder, value, path, window, pattern)
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
    pattern: str = "",
) -> Any:
    where = ".".join(path)
    if placeholder in ("<DURATION_MS>", "<SECONDS>"):
        _check_duration(placeholder, value, where, window, DURATION_DIGITS.get(pattern))
    elif placeholder == "<ISO8601>":
        if not isinstance(value, str) or "T" not in value:
            raise NormalizationError(f"{where}: expected an ISO 8601 date-time, got {value!r}")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise NormalizationError(f"{where}: not ISO 8601: {value!r}") from None
        if window is not None and not _within(moment, window):
            return value  # a fixed time from the case's own files: compared as it is
        if not _PFLOW_TIME_RE.fullmatch(value):
            raise NormalizationError(
                f"{where}: {value!r} is not in pflow's UTC microsecond form "
                "(2026-11-26T16:46:30.185428+00:00)"
            )
    elif placeholder == "<UUID>":
        try:
            parsed = uuid.UUID(str(value))
        except ValueError:
            raise NormalizationError(f"{where}: not a UUID: {value!r}") from None
        if str(parsed) != value or parsed.version != 4:
            raise NormalizationError(f"{where}: not a canonical version 4 UUID: {value!r}")
    return placeholder


def _check_duration(
    placeholder: str,
    value: Any,
    where: str,
    window: tuple[datetime, datetime] | None,
    digits: int | None,
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise NormalizationError(f"{where}: expected a non-negative number, got {value!r}")
    if not isinstance(value, float):
        raise NormalizationError(f"{where}: expected a float as pflow rounds it, got {value!r}")
    if digits is not None and round(value, digits) != value:
        raise NormalizationError(f"{where}: {value!r} has more than {digits} decimals")
    if window is None:
        return
    wall_ms = (window[1] - window[0]).total_seconds() * 1000.0
    if placeholder == "<SECONDS>":
        if value * 1000.0 > wall_ms + DURATION_SLACK_MS:
            raise NormalizationError(f"{where}: {value!r} s is longer than the run ({wall_ms} ms)")
    elif value > wall_ms + DURATION_SLACK_MS:
        raise NormalizationError(f"{where}: {value!r} ms is longer than the run ({wall_ms} ms)")


def check_relations(document: Any) -> None:
    """Check the relations between the volatile values of one JSON document (see top)."""
    if not isinstance(document, dict):
        return
    total = _number(document.get("duration_ms"))
    metrics = document.get("metrics")
    workflow = metrics.get("workflow") if isinstance(metrics, dict) else None
    if isinstance(workflow, dict):
        flow = _number(workflow.get("duration_ms"))
        _not_after(flow, total, "metrics.workflow.duration_ms", "duration_ms")
        timings = workflow.get("node_timings")
        if isinstance(timings, dict):
            for node, timing in timings.items():
                where = f"metrics.workflow.node_timings.{node}"
                _not_after(_number(timing), flow, where, "metrics.workflow.duration_ms")
    nodes = document.get("nodes")
    if isinstance(nodes, list):
        for index, node in enumerate(nodes):
            if isinstance(node, dict):
                timing = _number(node.get("duration_ms"))
                _not_after(timing, total, f"nodes.{index}.duration_ms", "duration_ms")
    for first, second in (("start_time", "end_time"), ("created_at", "updated_at")):
        _not_after(_moment(document.get(first)), _moment(document.get(second)), first, second)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _not_after(first: Any, second: Any, first_name: str, second_name: str) -> None:
    if first is None or second is None:
        return
    later = first > second + RELATION_SLACK_MS if isinstance(first, float) else first > second
    if later:
        raise NormalizationError(f"{first_name} ({first}) is after {second_name} ({second})")


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


def _check_elapsed(value: str, window: tuple[datetime, datetime] | None = None) -> str:
    seconds = float(value)  # the regex admits only digits "." digit
    if window is not None:
        wall = (window[1] - window[0]).total_seconds()
        if seconds > wall + 0.1:
            raise NormalizationError(f"progress time {value}s is longer than the run ({wall} s)")
    return "<ELAPSED>"


def _check_stamp(value: str, window: tuple[datetime, datetime] | None = None) -> str:
    try:
        moment = datetime.strptime(value, "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise NormalizationError(f"not a trace time stamp: {value!r}") from None
    # the stamp is truncated to the second: compare with the window's start second
    if window is not None and not _within(moment, (window[0].replace(microsecond=0), window[1])):
        raise NormalizationError(f"trace time stamp {value} is not the time of the run")
    return "<STAMP>"


def _run_id(match: re.Match[str], window: tuple[datetime, datetime] | None) -> str:
    """<RUN_ID> for the id of a run made by the case; a fixture's fixed id stays."""
    try:
        moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise NormalizationError(f"not a run id: {match.group()!r}") from None
    if window is None or _within(moment, (window[0].replace(microsecond=0), window[1])):
        return "<RUN_ID>"
    return match.group()


def _resolved(path: str) -> str:
    from pathlib import Path

    try:
        return str(Path(path).resolve())
    except OSError:
        return path
