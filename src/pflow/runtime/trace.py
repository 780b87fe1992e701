"""Execution traces: per-node timings, errors and shared-store changes, saved as JSON files."""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pflow.foundation.atomic_file import dump_json
from pflow.runtime.redaction import redact, scrub_all, secret_values

TRACE_FORMAT_VERSION = "1.0"
MAX_STRING_CHARS = 10_000
TRUNCATED_SUFFIX = "... [truncated]"
KEPT_INTERNAL_KEYS = frozenset({"__llm_calls__"})
FINAL_STATUSES = ("success", "failed", "error")
_MAX_DEPTH = 64
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def _cut(text: str) -> str:
    """`text`, cut to MAX_STRING_CHARS characters plus a marker when longer."""
    if len(text) > MAX_STRING_CHARS:
        return text[:MAX_STRING_CHARS] + TRUNCATED_SUFFIX
    return text


def _as_text(value: Any) -> str:
    """str(value) that never raises."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _safe(value: Any, active: set[int], depth: int) -> Any:
    """JSON-safe deep copy of `value`; `active` holds containers on the current path."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<binary data: {len(bytes(value))} bytes>"
    if isinstance(value, Mapping | list | tuple):
        if id(value) in active:
            return "<circular reference>"
        if depth >= _MAX_DEPTH:
            return "<nested too deeply>"
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                return {_as_text(k): _safe(v, active, depth + 1) for k, v in value.items()}
            return [_safe(item, active, depth + 1) for item in value]
        finally:
            active.discard(id(value))
    return _cut(_as_text(value))


def snapshot(shared: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe copy of a shared store without internal `__...` keys (except `__llm_calls__`)."""
    active = {id(shared)}
    return {
        _as_text(key): _safe(value, active, 1)
        for key, value in shared.items()
        if not (isinstance(key, str) and key.startswith("__") and key not in KEPT_INTERNAL_KEYS)
    }


def _mutations(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """Root keys added, removed and modified between two snapshots, each list sorted."""
    return {
        "added": sorted(k for k in after if k not in before),
        "removed": sorted(k for k in before if k not in after),
        "modified": sorted(k for k in after if k in before and before[k] != after[k]),
    }


def safe_file_part(name: str, limit: int = 40) -> str:
    """`name` reduced to `[A-Za-z0-9._-]` (others become '-') for use in a file name."""
    cleaned = _UNSAFE_NAME_CHARS.sub("-", name).strip("-")[:limit].strip("-")
    return cleaned or "workflow"


def _utc_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class WorkflowTraceCollector:
    """Accumulates node events for one run; `save` writes them as a debug trace file."""

    def __init__(self, workflow_name: str) -> None:
        self.workflow_name = workflow_name
        import uuid  # only a traced run needs it (and it costs start-up time)

        self.execution_id = str(uuid.uuid4())
        self.start_time = datetime.now(UTC)
        self._start_counter = time.perf_counter()
        self.end_time: datetime | None = None
        self.duration_ms: float | None = None
        self.final_status: str | None = None
        self.events: list[dict[str, Any]] = []
        # The run's parameters (set by the executor): their secrets never reach the file.
        self.parameters: dict[str, Any] = {}

    @staticmethod
    def snapshot(shared: Mapping[str, Any]) -> dict[str, Any]:
        """JSON-safe copy of `shared` as stored in traces (see module-level `snapshot`)."""
        return snapshot(shared)

    def record_node(
        self,
        node_id: str,
        node_type: str,
        duration_ms: float,
        success: bool,
        shared_before: Mapping[str, Any],
        shared_after: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        """Append one node event; the stores are snapshotted, never kept by reference."""
        before = snapshot(shared_before)
        after = snapshot(shared_after)
        event: dict[str, Any] = {
            "node_id": node_id,
            "node_type": node_type,
            "duration_ms": round(float(duration_ms), 3),
            "success": bool(success),
        }
        if error is not None:
            event["error"] = _cut(error)
        event["mutations"] = _mutations(before, after)
        event["shared_after"] = after
        self.events.append(event)

    def finish(self, status: str) -> None:
        """Close the trace with `status`: 'success', 'failed' or 'error'."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"trace status must be one of {FINAL_STATUSES}, not {status!r}")
        self.end_time = datetime.now(UTC)
        self.duration_ms = round((time.perf_counter() - self._start_counter) * 1000.0, 2)
        self.final_status = status

    def to_dict(self) -> dict[str, Any]:
        """The trace document; end fields are None until `finish` is called."""
        return {
            "format_version": TRACE_FORMAT_VERSION,
            "execution_id": self.execution_id,
            "workflow_name": self.workflow_name,
            "start_time": _utc_iso(self.start_time),
            "end_time": _utc_iso(self.end_time) if self.end_time else None,
            "duration_ms": self.duration_ms,
            "final_status": self.final_status,
            "nodes_executed": len(self.events),
            "nodes_failed": sum(1 for event in self.events if not event["success"]),
            "nodes": self.events,
        }

    def redacted(self) -> dict[str, Any]:
        """`to_dict()` with the run parameters' secrets redacted, as the trace file holds it."""
        document = self.to_dict()
        for event in document["nodes"]:
            store = event["shared_after"]
            for name in self.parameters:
                if name in store:
                    store[name] = redact({name: store[name]})[name]
        redacted: dict[str, Any] = scrub_all(document, secret_values(self.parameters))
        return redacted

    def save(self, directory: Path) -> Path:
        """Write the trace into `directory` under a new, unique name, readable by its owner only.

        The directory is created (or narrowed to) mode 0700 and the file is 0600: a trace
        holds every value of the run. Secret-named parameters (see `parameters`) are redacted
        at any depth, and their values scrubbed from all text, as in execution history.
        """
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # not ours to narrow, or not a POSIX filesystem
            os.chmod(directory, 0o700)
        text = dump_json(self.redacted())
        stamp = self.start_time.strftime("%Y%m%d-%H%M%S")
        base = f"workflow-trace-{safe_file_part(self.workflow_name)}-{stamp}"
        return _write_new_file(directory, base, text)


def _write_new_file(directory: Path, base: str, text: str) -> Path:
    """Create `<base>.json` (or `<base>-2.json`, ...) exclusively and write `text` to it."""
    suffix = 1
    while True:
        path = directory / (f"{base}.json" if suffix == 1 else f"{base}-{suffix}.json")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            suffix += 1
            continue
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path
