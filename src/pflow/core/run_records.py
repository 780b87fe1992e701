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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pflow.foundation.atomic_file import write_text_atomic
from pflow.foundation.exceptions import PflowError
from pflow.foundation.json_safe import dumps_utf8, to_json_safe
from pflow.foundation.paths import pflow_home
from pflow.runtime.journal import CachedStep, Step, canonical_hash
from pflow.runtime.redaction import redact

RECORD_VERSION = "1.0.0"
DEFAULT_KEEP = 100
JOURNAL = "journal.jsonl"
RECORD = "record.json"
LOCK = "resume.lock"
NODE_STATUSES = ("completed", "failed", "skipped", "not_run")


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


def _cwd() -> str | None:
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
            "cwd": cwd if cwd is not None else _cwd(),
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
        # The text of dumps_utf8(line, indent=None, allow_nan=False), from one encoder made
        # once instead of one per line (json.dumps builds an encoder for each call).
        text = _LINE_ENCODER.encode(line)
        if not text.isascii():
            text = _SURROGATE.sub(_escape_surrogate, text)
        data = (text + "\n").encode("utf-8")
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
        assert self._journal is not None
        os.fsync(self._journal)
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


# The journal's lines: compact JSON, non-ASCII text kept, lone surrogates as \uXXXX escapes
# (what dumps_utf8(line, indent=None, allow_nan=False) writes).
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


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
    folders = sorted(
        (p for p in root.iterdir() if p.is_dir() and _looks_like_id(p.name)), key=_age_key
    )
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


def _looks_like_id(name: str) -> bool:
    head, _, tail = name.partition("Z-")
    return len(head) == 15 and head[8] == "T" and len(tail) == 6


class RunStore:
    """Reads the records under a runs folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else runs_dir()

    def ids(self) -> list[str]:
        """Run ids, newest first."""
        try:
            names = [p.name for p in self.root.iterdir() if p.is_dir() and _looks_like_id(p.name)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise RunRecordError(f"Cannot read the run records in {self.root}: {exc}") from exc
        return sorted(names, reverse=True)

    def resolve(self, prefix: str) -> str:
        """The one run id starting with `prefix` (as git resolves commit prefixes)."""
        matches = [i for i in self.ids() if i.startswith(prefix)] if prefix else []
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise RunRecordError(
                f"No run record matches '{prefix}'",
                hint="Run 'pflow runs list' to see the recorded runs",
            )
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise RunRecordError(
            f"Run id '{prefix}' is ambiguous: {len(matches)} runs match ({shown})",
            hint="Give more characters of the run id",
            exit_code=2,
        )

    def load(self, run_id: str) -> dict[str, Any]:
        """The record of `run_id`: `record.json`, or rebuilt from the journal."""
        folder = self.root / run_id
        try:
            text = (folder / RECORD).read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return self._from_journal(run_id)
        except OSError as exc:
            raise _corrupt(run_id, str(exc)) from exc
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise _corrupt(run_id, f"record.json is not JSON ({exc})") from exc
        _check_shape(run_id, record)
        return dict(record)

    def _from_journal(self, run_id: str) -> dict[str, Any]:
        path = self.root / run_id / JOURNAL
        try:
            lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        except FileNotFoundError as exc:
            raise RunRecordError(
                f"No run record '{run_id}'", hint="Run 'pflow runs list' to see recorded runs"
            ) from exc
        except OSError as exc:
            raise _corrupt(run_id, str(exc)) from exc
        events = []
        for number, line in enumerate(lines, 1):
            try:
                events.append(json.loads(line))
            except ValueError as exc:
                if number == len(lines):  # the last line may be cut short by a kill
                    break
                raise _corrupt(run_id, f"journal line {number} is not JSON") from exc
        if not events or not isinstance(events[0], dict) or events[0].get("event") != "start":
            raise _corrupt(run_id, "the journal has no start line")
        header = {k: v for k, v in events[0].items() if k != "event"}
        steps = [
            {k: v for k, v in e.items() if k != "event"}
            for e in events[1:]
            if isinstance(e, dict) and e.get("event") == "node"
        ]
        record = build_record(
            header,
            steps,
            status="incomplete",
            final_action=None,
            errors=[],
            skipped=[],
            node_types={},
            finished_at=None,
        )
        _check_shape(run_id, record)
        return record

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record, newest first (unreadable ones are left out)."""
        found = []
        for run_id in self.ids():
            with contextlib.suppress(RunRecordError):
                found.append(self.load(run_id))
        # ids order runs by the second they started in; started_at orders within a second
        found.sort(key=lambda r: (str(r.get("started_at") or ""), str(r["run_id"])), reverse=True)
        yield from found


def _corrupt(run_id: str, why: str) -> RunRecordError:
    return RunRecordError(
        f"The record of run '{run_id}' cannot be read: {why}",
        hint="Resume another run ('pflow runs list'), or run the workflow again",
        exit_code=3,
    )


def _check_shape(run_id: str, record: Any) -> None:
    """The few fields resume relies on, so a damaged record fails clearly, not half-way."""
    ok = (
        isinstance(record, dict)
        and isinstance(record.get("workflow"), dict)
        and isinstance(record.get("params"), dict)
        and isinstance(record.get("nodes"), list)
        and all(isinstance(n, dict) and isinstance(n.get("node_id"), str) for n in record["nodes"])
    )
    if not ok:
        raise _corrupt(run_id, "it does not have the shape of a run record")


FAILED_STATUSES = ("failed", "interrupted", "incomplete")


def newest_failed(store: RunStore, cwd: str | None = None) -> str:
    """The newest failed run started in `cwd` (default: here) that no later run resumed."""
    here = cwd if cwd is not None else _cwd()
    resumed: set[str] = set()
    for record in store.records():  # newest first, so a resume is seen before its run
        if record.get("resumed_from"):
            resumed.add(str(record["resumed_from"]))
        if (
            record.get("cwd") == here
            and record.get("status") in FAILED_STATUSES
            and record.get("run_id") not in resumed
        ):
            return str(record["run_id"])
    raise RunRecordError(
        f"No failed run to resume in {here}",
        hint="Give a run id: 'pflow runs list --failed' lists the failed runs",
    )


@contextlib.contextmanager
def resume_lock(store: RunStore, run_id: str) -> Iterator[None]:
    """Held while a run is resumed; a second resume of the same run is refused."""
    try:
        fd = os.open(store.root / run_id / LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:  # a read-only record folder: nothing could be recorded either
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise RunRecordError(
                f"Run '{run_id}' is being resumed by another pflow process",
                hint="Wait for it to finish; 'pflow runs list' then shows the new run",
                exit_code=1,
            ) from exc
        yield
    finally:
        os.close(fd)


def workflow_identity(kind: str, name: str | None, path: Path | None) -> dict[str, Any]:
    """The `workflow` member of a record: a saved name, or a file's absolute path."""
    if kind == "saved" and name:
        return {"name": name, "path": str(path) if path else None}
    return {"name": None, "path": str(Path(path).resolve()) if path else None}


def same_workflow(record: dict[str, Any], identity: dict[str, Any]) -> bool:
    """Whether `record` is a run of the workflow `identity` names."""
    workflow = record.get("workflow") or {}
    if identity.get("name"):
        return bool(workflow.get("name") == identity["name"])
    return not workflow.get("name") and workflow.get("path") == identity.get("path")


def cached_steps(record: dict[str, Any]) -> dict[tuple[str, str], CachedStep]:
    """The completed steps of `record` by (node id, fingerprint): what a resume may reuse."""
    found: dict[tuple[str, str], CachedStep] = {}
    for node in record.get("nodes", []):
        fp = node.get("fingerprint")
        outputs = node.get("outputs")
        if node.get("status") == "completed" and isinstance(fp, str) and isinstance(outputs, dict):
            action = node.get("action")
            found[(node["node_id"], fp)] = CachedStep(
                action if isinstance(action, str) else None, outputs
            )
    return found


class Journal:
    """The `RunJournal` of one run: records steps, and offers a resumed run's completed ones.

    `reuse` holds the steps that may be reused (`cached_steps` of the record resumed);
    `force_from` names a node from which, once the walk reaches it, nothing is reused.
    """

    def __init__(
        self,
        recorder: RunRecorder | None,
        reuse: dict[tuple[str, str], CachedStep] | None = None,
        force_from: str | None = None,
    ) -> None:
        self.recorder = recorder
        self.reuse = reuse or {}
        self.force_from = force_from
        self.forcing = False
        self.latest: dict[str, str | None] = {}

    def reusable(self, node_id: str, fingerprint: str) -> CachedStep | None:
        if node_id == self.force_from:
            self.forcing = True
        if self.forcing:
            return None
        return self.reuse.get((node_id, fingerprint))

    def fingerprint_of(self, node_id: str) -> str | None:
        return self.latest.get(node_id)

    def record(self, step: Step) -> None:
        self.latest[step.node_id] = step.fingerprint
        if self.recorder is not None:
            self.recorder.record(step)
