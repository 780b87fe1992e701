"""Run records: what every run did, node by node, kept so a failed run can be resumed.

Each run gets a folder `$PFLOW_HOME/runs/<run-id>/` (mode 0700) holding:

- `journal.jsonl` (0600): written as the run goes, one JSON line per event: a `start` line
  (workflow, parameters, node ids), then one `node` line per finished node, flushed at
  once but never fsynced, so a run killed half-way (SIGKILL, power loss) leaves every node
  it finished;
- `record.json` (0600): the whole record (schemas/run-record.schema.json), written once at
  the end, atomically and fsynced.

A record is read from `record.json`, or rebuilt from the journal when the run never got to
write it (its status is then `incomplete`). Writing is best effort: the first failure turns
recording off for the rest of the run and is reported once (`RunRecorder.problem`).
Reading records back, and what a resume takes from them, is `pflow.core.run_store`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pflow.foundation.atomic_file import write_text_atomic
from pflow.foundation.exceptions import PflowError
from pflow.foundation.json_safe import dumps_utf8, to_json_safe
from pflow.foundation.paths import pflow_home
from pflow.runtime.journal import Step, canonical_hash
from pflow.runtime.redaction import redact

RECORD_VERSION = "1.0.0"
DEFAULT_KEEP = 100
JOURNAL = "journal.jsonl"
RECORD = "record.json"
LOCK = "resume.lock"


class RunRecordError(PflowError):
    """A run record that cannot be found (exit 4), read (3), or used now (1); or an
    ambiguous run id (2)."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 4) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code


def runs_dir() -> Path:
    """Folder of the run records: `$PFLOW_HOME/runs`."""
    return pflow_home() / "runs"


def recording_enabled() -> bool:
    """False when PFLOW_NO_RUNS=1 (or true/yes/on) turns recording off."""
    return os.environ.get("PFLOW_NO_RUNS", "").strip().lower() not in {"1", "true", "yes", "on"}


def keep_count() -> int:
    """How many runs are kept: PFLOW_RUNS_KEEP (a positive integer), else 100."""
    text = os.environ.get("PFLOW_RUNS_KEEP", "").strip()
    try:
        value = int(text)
    except ValueError:
        return DEFAULT_KEEP
    return value if value > 0 else DEFAULT_KEEP


def ir_hash(ir: dict[str, Any]) -> str:
    """A hash of the IR's content (key order and spacing do not matter)."""
    return canonical_hash(ir)


def current_dir() -> str | None:
    """The working directory, or None when it was removed."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_run_id(now: datetime | None = None) -> str:
    """`20261207T054412Z-3f9a2c`: sortable by start time, unique by its random tail."""
    moment = now or datetime.now(UTC)
    return f"{moment:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"


class RunRecorder:
    """Writes one run's record as it goes; every method is a no-op once writing failed."""

    def __init__(
        self,
        *,
        workflow: dict[str, Any],
        params: dict[str, Any],
        node_ids: list[str],
        node_types: dict[str, str],
        keep_going: bool,
        resumed_from: str | None = None,
        typed_params: bool = False,
        cwd: str | None = None,
        directory: Path | None = None,
        clock: Callable[[], str] = _now,
        keep: int | None = None,
    ) -> None:
        self.run_id = new_run_id()
        self.root = directory if directory is not None else runs_dir()
        self.folder = self.root / self.run_id
        self.clock = clock
        self.keep = keep if keep is not None else keep_count()
        self.problem: str | None = None
        self.steps: list[dict[str, Any]] = []  # JSON copies, taken when each step ends
        self.node_types = node_types
        self.header: dict[str, Any] = {
            "record_version": RECORD_VERSION,
            "run_id": self.run_id,
            "resumed_from": resumed_from,
            "workflow": workflow,
            "params": redact(to_json_safe(params)),
            "typed_params": typed_params,
            "keep_going": keep_going,
            "cwd": cwd if cwd is not None else current_dir(),
            "node_ids": node_ids,
            "started_at": self.clock(),
        }
        self._journal: int | None = None  # the journal's file descriptor, opened for appending
        self._attempt(self._open)

    def _attempt(self, action: Callable[[], None]) -> None:
        if self.problem is not None:
            return
        try:
            action()
        except (OSError, ValueError, TypeError) as exc:
            self.problem = f"could not write the run record in {self.folder}: {_reason(exc)}"
            self._close()

    def _open(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.mkdir(mode=0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self._journal = os.open(self.folder / JOURNAL, flags, 0o600)
        self._write({"event": "start", **self.header})

    def _write(self, line: dict[str, Any]) -> None:
        data = (dumps_utf8(line, indent=None, allow_nan=False) + "\n").encode("utf-8")
        assert self._journal is not None
        # Straight to the kernel, unbuffered: a killed pflow loses no line (no fsync here).
        while data:
            data = data[os.write(self._journal, data) :]

    def record(self, step: Step) -> None:
        """A node finished: one journal line."""
        document = _step_document(step)
        self.steps.append(document)
        self._attempt(lambda: self._write({"event": "node", **document}))

    def finish(
        self,
        *,
        status: str,
        final_action: str | None,
        errors: list[dict[str, Any]],
        skipped: list[str],
    ) -> dict[str, Any]:
        """Write `record.json` (fsynced once), close the journal, prune old runs."""
        record = build_record(
            self.header,
            self.steps,
            status=status,
            final_action=final_action,
            errors=errors,
            skipped=skipped,
            node_types=self.node_types,
            finished_at=self.clock(),
        )
        self._attempt(lambda: self._finish(record))
        self._close()
        return record

    def _finish(self, record: dict[str, Any]) -> None:
        # Only record.json is fsynced: once it is on disk, the journal is never read again.
        write_text_atomic(
            self.folder / RECORD,
            dumps_utf8(record, indent=None, allow_nan=False) + "\n",
            mode=0o600,
        )
        prune(self.root, self.keep, spare=self.run_id)

    def _close(self) -> None:
        if self._journal is not None:
            with contextlib.suppress(OSError, ValueError):
                os.close(self._journal)
            self._journal = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


# Step's fields in order, `extra` (never recorded) left out.
_STEP_FIELDS = tuple(f.name for f in fields(Step) if f.name != "extra")


def _step_document(step: Step) -> dict[str, Any]:
    """The JSON document of one step: its fields in order, `error` only when there is one.

    Built field by field rather than with dataclasses.asdict, which deep-copies every value
    (the outputs included, only to be replaced by their JSON-safe copy): the same document,
    in a fraction of the time.
    """
    document = {name: getattr(step, name) for name in _STEP_FIELDS}
    if document.get("error", 0) is None:
        del document["error"]
    document["duration_ms"] = round(step.duration_ms, 3)
    document["outputs"] = to_json_safe(step.outputs) if step.outputs is not None else None
    return document


def build_record(
    header: dict[str, Any],
    steps: list[dict[str, Any]],
    *,
    status: str,
    final_action: str | None,
    errors: list[dict[str, Any]],
    skipped: list[str],
    node_types: dict[str, str],
    finished_at: str | None,
) -> dict[str, Any]:
    """The whole record: the header, every step in order, then skipped and not-run nodes."""
    seen = {s["node_id"] for s in steps}
    rest = []
    for node_id in header.get("node_ids", []):
        if node_id in seen:
            continue
        rest.append(
            {
                "node_id": node_id,
                "node_type": node_types.get(node_id, ""),
                "status": "skipped" if node_id in skipped else "not_run",
                "action": None,
                "duration_ms": None,
                "fingerprint": None,
                "outputs": None,
                "cached": False,
            }
        )
    record = {k: v for k, v in header.items() if k != "node_ids"}
    record.update(
        {
            "finished_at": finished_at,
            "status": status,
            "final_action": final_action,
            "nodes": steps + rest,
            "errors": to_json_safe(errors),
        }
    )
    return record


def prune(root: Path, keep: int, *, spare: str | None = None) -> None:
    """Remove all but the newest `keep` run folders (never `spare`, the run just written)."""
    folders = sorted((p for p in root.iterdir() if p.is_dir() and is_run_id(p.name)), key=_age_key)
    for folder in folders[: max(0, len(folders) - keep)]:
        if folder.name != spare:
            shutil.rmtree(folder, ignore_errors=True)


def _age_key(folder: Path) -> tuple[str, int]:
    """Oldest first: by the id's second, then by when the journal was last written."""
    try:
        written = (folder / JOURNAL).stat().st_mtime_ns
    except OSError:
        written = 0
    return folder.name[:16], written


def is_run_id(name: str) -> bool:
    """Whether a folder name has the shape of a run id (`new_run_id`)."""
    head, _, tail = name.partition("Z-")
    return len(head) == 15 and head[8] == "T" and len(tail) == 6


def workflow_identity(kind: str, name: str | None, path: Path | None) -> dict[str, Any]:
    """The `workflow` member of a record: a saved name, or a file's absolute path."""
    if kind == "saved" and name:
        return {"name": name, "path": str(path) if path else None}
    return {"name": None, "path": str(Path(path).resolve()) if path else None}
