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
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pflow.foundation.atomic_file import write_text_atomic
from pflow.foundation.exceptions import PflowError
from pflow.foundation.json_safe import (
    dumps_utf8,
    escape_surrogates,
    json_encoder,
    json_string,
    to_json_safe,
)
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
    return f"{moment:%Y%m%dT%H%M%S}Z-{os.urandom(3).hex()}"


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
        self._texts: list[str] = []  # each step's JSON text (step_json), taken when it ended
        self._ran: set[str] = set()  # the nodes those steps are of
        self.cached: list[str] = []  # the nodes a resumed run reused, in walk order
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
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.problem = f"could not write the run record in {self.folder}: {_reason(exc)}"
        self._close()

    def _open(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.mkdir(mode=0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self._journal = os.open(self.folder / JOURNAL, flags, 0o600)
        self._write({"event": "start", **self.header})

    def _write(self, line: dict[str, Any]) -> None:
        assert self._journal is not None
        _write_all(self._journal, (_compact(line) + "\n").encode("utf-8"))

    def record(self, step: Step) -> None:
        """A node finished: one journal line, `{"event": "node"}` and the step's document."""
        self._ran.add(step.node_id)
        if step.cached:
            self.cached.append(step.node_id)
        fd = self._journal
        if fd is None:  # writing failed earlier
            return
        try:
            text = step_json(step)
            data = ('{"event": "node", ' + text[1:] + "\n").encode("utf-8")  # the text, reused
            written = os.write(fd, data)
            if written < len(data):
                _write_all(fd, data[written:])
        except (OSError, ValueError, TypeError) as exc:
            self._failed(exc)
            return
        self._texts.append(text)

    def finish(
        self,
        *,
        status: str,
        final_action: str | None,
        errors: list[dict[str, Any]],
        skipped: list[str],
    ) -> None:
        """Write `record.json` (fsynced once), close the journal, prune old runs.

        The record is what `build_record` makes of the header and the steps, written as
        one line; the steps' texts are those of the journal lines, encoded once.
        """
        finished_at = self.clock()
        self._attempt(lambda: self._finish(finished_at, status, final_action, errors, skipped))
        self._close()

    def _finish(
        self,
        finished_at: str,
        status: str,
        final_action: str | None,
        errors: list[dict[str, Any]],
        skipped: list[str],
    ) -> None:
        head = _compact(_head(self.header, finished_at, status, final_action))
        rest = _unrun(self.header["node_ids"], self._ran, skipped, self.node_types)
        nodes = ", ".join(self._texts + [_compact(n) for n in rest])
        text = f'{head[:-1]}, "nodes": [{nodes}], "errors": {_compact(to_json_safe(errors))}}}'
        # Only record.json is fsynced: once it is on disk, the journal is never read again.
        write_text_atomic(self.folder / RECORD, text + "\n", mode=0o600)
        prune(self.root, self.keep, spare=self.run_id)

    def _close(self) -> None:
        if self._journal is not None:
            with contextlib.suppress(OSError, ValueError):
                os.close(self._journal)
            self._journal = None


def _write_all(fd: int, data: bytes) -> None:
    """Straight to the kernel, unbuffered: a killed pflow loses no line (no fsync here)."""
    while data:
        data = data[os.write(fd, data) :]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _compact(value: Any) -> str:
    """One-line JSON, as journal lines and record.json are written."""
    return dumps_utf8(value, indent=None, allow_nan=False)


_ONE_LINE = json_encoder(allow_nan=False)  # _compact without its surrogate escapes


def milliseconds(duration_ms: float) -> str:
    """A duration in milliseconds to the microsecond, as JSON writes that number (`1.5`,
    `0.985`, `2.0`).

    The digits come from the whole number of microseconds: Python's float formatting costs
    more than the rest of a journal line. Below 10**12 ms, every such number's shortest
    form is those digits, which is what `repr` (and so JSON) writes; other numbers are left
    to the JSON encoder.
    """
    if not 0 <= duration_ms < 1e12:  # NaN included: _compact refuses it, as JSON does
        return _compact(round(duration_ms, 3))
    digits = str(int(duration_ms * 1000 + 0.5))
    if len(digits) < 4:
        digits = "000"[: 4 - len(digits)] + digits
    tail = digits[-3:].rstrip("0")
    return digits[:-3] + "." + (tail or "0")


def step_json(step: Step) -> str:
    """The JSON text of one step: `_compact` of its document, the fields of `Step` in order
    and `error` only when there is one, written here without building the document.

    The outputs are encoded as they are; only when JSON cannot encode them (bytes, NaN,
    objects) is their JSON-safe copy (`to_json_safe`) encoded instead.
    """
    outputs, action, print_ = step.outputs, step.action, step.fingerprint
    try:
        encoded = "null" if outputs is None else _ONE_LINE(outputs)
    except (TypeError, ValueError):
        encoded = _ONE_LINE(to_json_safe(outputs))
    text = (
        f'{{"node_id": {json_string(step.node_id)}, "node_type": {json_string(step.node_type)},'
        f' "status": {json_string(step.status)},'
        f' "action": {"null" if action is None else json_string(action)},'
        f' "duration_ms": {milliseconds(step.duration_ms)},'
        f' "fingerprint": {"null" if print_ is None else json_string(print_)},'
        f' "outputs": {encoded}, "cached": {"true" if step.cached else "false"}'
    )
    text += "}" if step.error is None else f', "error": {json_string(step.error)}}}'
    return text if text.isascii() else escape_surrogates(text)


def _head(
    header: dict[str, Any], finished_at: str | None, status: str, final_action: str | None
) -> dict[str, Any]:
    """A record's members before its nodes: the header's (its node ids left out), then
    when and how the run ended."""
    head = {k: v for k, v in header.items() if k != "node_ids"}
    head.update({"finished_at": finished_at, "status": status, "final_action": final_action})
    return head


def _unrun(
    node_ids: list[str], ran: set[str], skipped: list[str], node_types: dict[str, str]
) -> list[dict[str, Any]]:
    """The entries of the nodes without a step, in the workflow's order: skipped or not run."""
    return [
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
        for node_id in node_ids
        if node_id not in ran
    ]


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
    record = _head(header, finished_at, status, final_action)
    ran = {s["node_id"] for s in steps}
    record["nodes"] = steps + _unrun(header.get("node_ids", []), ran, skipped, node_types)
    record["errors"] = to_json_safe(errors)
    return record


def prune(root: Path, keep: int, *, spare: str | None = None) -> None:
    """Remove all but the newest `keep` run folders (never `spare`, the run just written).

    Oldest first means by the id's second, then, within that second, by when the journal
    was last written; only the runs of the second where the cut falls are looked at for that.
    """
    with os.scandir(root) as entries:  # no stat per folder: the directory says what is one
        names = [e.name for e in entries if is_run_id(e.name) and e.is_dir()]
    excess = len(names) - keep
    if excess <= 0:
        return
    names.sort()
    cut = names[excess - 1][:16]
    older = [n for n in names if n[:16] < cut]
    tied = sorted((n for n in names if n[:16] == cut), key=lambda n: _written(root / n))
    for name in (older + tied)[:excess]:
        if name != spare:
            shutil.rmtree(root / name, ignore_errors=True)


def _written(folder: Path) -> int:
    """When the run's journal was last written (0 when it cannot be told)."""
    try:
        return (folder / JOURNAL).stat().st_mtime_ns
    except OSError:
        return 0


def is_run_id(name: str) -> bool:
    """Whether a folder name has the shape of a run id (`new_run_id`)."""
    head, _, tail = name.partition("Z-")
    return len(head) == 15 and head[8] == "T" and len(tail) == 6


def workflow_identity(kind: str, name: str | None, path: Path | None) -> dict[str, Any]:
    """The `workflow` member of a record: a saved name, or a file's absolute path."""
    if kind == "saved" and name:
        return {"name": name, "path": str(path) if path else None}
    return {"name": None, "path": str(Path(path).resolve()) if path else None}
