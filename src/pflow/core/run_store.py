"""Reading run records back (`RunStore`), and what a resume takes from them.

`RunStore.load` reads a run's `record.json`, or rebuilds the record from its journal when the
run never wrote one (killed, or still going): its status is then `incomplete`. A resume
finds its run (`RunStore.resolve`, `newest_failed`), holds `resume_lock` while it runs, and
gives the walk a `Journal` that offers the record's completed steps (`cached_steps`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pflow.core.run_records import (
    JOURNAL,
    LOCK,
    RECORD,
    RunRecorder,
    RunRecordError,
    build_record,
    current_dir,
    is_run_id,
    runs_dir,
)
from pflow.runtime.journal import CachedStep, Step


class RunStore:
    """Reads the records under a runs folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else runs_dir()

    def ids(self) -> list[str]:
        """Run ids, newest first."""
        try:
            names = [p.name for p in self.root.iterdir() if p.is_dir() and is_run_id(p.name)]
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
    here = cwd if cwd is not None else current_dir()
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
