"""Decides whether a run is interactive and renders its progress lines on stderr."""

from __future__ import annotations

import contextlib
import sys
from typing import IO, Any, Protocol

MAX_FAILURE_DETAIL = 70


class ProgressCallback(Protocol):
    """Signature of the callable the runtime invokes for each progress event."""

    def __call__(
        self,
        node_id: str,
        event: str,
        duration_ms: float | None = None,
        depth: int = 0,
        detail: str | None = None,
    ) -> None: ...


def _is_tty(stream: IO[Any] | None) -> bool:
    """True only for an open stream attached to a terminal; never raises."""
    if stream is None:
        return False
    try:
        return not stream.closed and bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _short(detail: str | None) -> str:
    """First line of `detail`, cut to MAX_FAILURE_DETAIL characters with '...'."""
    lines = (detail or "").strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > MAX_FAILURE_DETAIL:
        first = first[: MAX_FAILURE_DETAIL - 3] + "..."
    return first


def _render(
    node_id: str, event: str, duration_ms: float | None, depth: int, detail: str | None
) -> str:
    """Text for one progress event ('' for events that print nothing)."""
    indent = "  " * depth
    if event == "workflow_start":
        count = int(detail or 0)
        return f"{indent}Executing workflow ({count} node{'' if count == 1 else 's'}):\n"
    if event == "node_start":
        return f"{indent}  {node_id}..."
    if event == "node_complete":
        return " ✓\n" if duration_ms is None else f" ✓ {duration_ms / 1000:.1f}s\n"
    if event == "node_cached":
        return " ↻ cached\n"
    if event == "node_skipped":
        return f"{indent}  {node_id}... skipped (needs '{detail}')\n"
    if event == "node_failed":
        reason = _short(detail)
        return f" ✗ {reason}\n" if reason else " ✗\n"
    return ""


class OutputController:
    """Knows where output goes and whether progress may be shown to a human.

    Streams default to the sys streams as they are at construction time.
    """

    def __init__(
        self,
        print_flag: bool,
        output_format: str,
        *,
        stdin: IO[Any] | None = None,
        stdout: IO[Any] | None = None,
        stderr: IO[Any] | None = None,
    ) -> None:
        self.print_flag = print_flag
        self.output_format = output_format
        self.stdin: IO[Any] | None = stdin if stdin is not None else sys.stdin
        self.stdout: IO[Any] | None = stdout if stdout is not None else sys.stdout
        self.stderr: IO[Any] | None = stderr if stderr is not None else sys.stderr

    def is_interactive(self) -> bool:
        """Text output, no -p/--print, and both stdin and stdout are terminals."""
        return (
            not self.print_flag
            and self.output_format == "text"
            and _is_tty(self.stdin)
            and _is_tty(self.stdout)
        )

    def _write(self, text: str) -> None:
        """Write and flush on stderr; any failure is swallowed (progress is best effort)."""
        if not text or self.stderr is None:
            return
        try:
            self.stderr.write(text)
            self.stderr.flush()
        except Exception:  # progress must never break a run
            return

    def create_progress_callback(self) -> ProgressCallback | None:
        """A callback rendering node progress on stderr, or None when not interactive."""
        if not self.is_interactive():
            return None

        def callback(
            node_id: str,
            event: str,
            duration_ms: float | None = None,
            depth: int = 0,
            detail: str | None = None,
        ) -> None:
            # Progress must never break a run: bad arguments (e.g. a non-numeric count) are ignored.
            with contextlib.suppress(Exception):
                self._write(_render(node_id, event, duration_ms, depth, detail))

        return callback

    def warn(self, message: str) -> None:
        """A `Warning: <message>` line on stderr for a human reader; nothing in JSON mode."""
        if self.output_format == "text":
            self._write(f"Warning: {message}\n")

    def progress(self, message: str) -> None:
        """Print `message` as a line on stderr, only in interactive mode."""
        if self.is_interactive():
            self._write(message + "\n")
