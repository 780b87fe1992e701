"""Saved workflows: one JSON wrapper per name under the workflows directory, written atomically."""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pflow.foundation import paths
from pflow.foundation.atomic_file import dump_json, write_text_atomic
from pflow.foundation.exceptions import (
    ParameterError,
    SchemaValidationError,
    WorkflowExistsError,
    WorkflowNotFoundError,
    WorkflowStorageError,
)
from pflow.foundation.json_safe import MAX_NESTING, loads_json
from pflow.foundation.schemas import document_errors

WRAPPER_VERSION = "1.0.0"
MAX_NAME_LENGTH = 50
LOCK_TIMEOUT_SECONDS = 10.0
_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")


def validate_name(name: str) -> None:
    """Raise ParameterError unless `name` is a safe saved-workflow name."""
    if not name:
        raise ParameterError("Workflow name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ParameterError(f"Workflow name cannot exceed {MAX_NAME_LENGTH} characters")
    if not _NAME_CHARS.fullmatch(name):
        raise ParameterError(
            "Workflow name can only contain letters, numbers, dots, hyphens and underscores"
        )
    if name[0] in ".-":
        raise ParameterError("Workflow name cannot start with '.' or '-'")
    if ".." in name:
        raise ParameterError("Workflow name cannot contain '..'")


def _now() -> str:
    """Current UTC time as ISO 8601, always with microseconds and `+00:00`."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _remove_stale_temp_files(path: Path) -> None:
    """Delete temp files a killed writer left beside `path` (only lock holders write them)."""
    # Exactly `.<name>.json.<12 hex>.tmp`: a wider pattern would also match (and delete) the
    # live temp file of another workflow whose name starts with `<name>.json.`.
    for stale in path.parent.glob(f".{path.name}.{'?' * 12}.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _text_or(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """object_pairs_hook: json.loads would otherwise silently keep the last duplicate."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(token: str) -> Any:
    """parse_constant hook: NaN and Infinity are not JSON and could never be saved again."""
    raise ValueError(f"{token} is not valid JSON")


def _parse_json(text: str) -> Any:
    """json.loads that also rejects duplicate keys and NaN/Infinity (raised as ValueError)."""
    return loads_json(
        text,
        # the wrapper and its history nest an IR and parameters that may each be that deep
        limit=2 * MAX_NESTING,
        object_pairs_hook=_reject_duplicates,
        parse_constant=_reject_constant,
    )


def _storage_error(path: Path, message: str) -> WorkflowStorageError:
    """A WorkflowStorageError about an existing saved file."""
    return WorkflowStorageError(message, hint=f"Fix or delete {path}", path=str(path))


class WorkflowManager:
    """Save, load, list and delete named workflows stored as `<dir>/<name>.json`."""

    def __init__(
        self,
        workflows_dir: Path | None = None,
        *,
        clock: Callable[[], str] | None = None,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    ) -> None:
        if workflows_dir is None:
            workflows_dir = paths.workflows_dir()
        self.workflows_dir = Path(workflows_dir)
        # The time stamps written to saved files (ISO 8601, UTC) and how long a writer waits
        # for another process's lock on the same workflow.
        self.clock: Callable[[], str] = clock if clock is not None else _now
        self.lock_timeout = lock_timeout
        self.problems: list[str] = []

    def get_path(self, name: str) -> Path:
        """File that holds (or would hold) workflow `name`; the name is validated first."""
        validate_name(name)
        return self.workflows_dir / f"{name}.json"

    def exists(self, name: str) -> bool:
        """Whether a saved workflow called `name` exists (False for an invalid name)."""
        try:
            return self.get_path(name).is_file()
        except ParameterError:
            return False

    def save(
        self,
        name: str,
        ir: dict[str, Any],
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        force: bool = False,
    ) -> Path:
        """Store `ir` under `name` and return the file path.

        Raises WorkflowExistsError when the name is taken and `force` is false, and
        WorkflowStorageError when a forced save would overwrite a corrupt file.
        """
        path = self.get_path(name)
        if not isinstance(ir, dict):
            raise SchemaValidationError("Workflow IR must be a JSON object")
        with self._locked(name):
            # A forced save replaces the IR; what it does not give is kept from the old file.
            old = self._previous_for_save(name, path, force) or {}
            now = self.clock()
            kept_description = old.get("description") if description is None else description
            wrapper: dict[str, Any] = {
                "name": name,
                "description": kept_description if isinstance(kept_description, str) else "",
                "ir": ir,
                "created_at": _text_or(old.get("created_at"), now),
                "updated_at": now,
                "version": WRAPPER_VERSION,
            }
            kept_metadata = old.get("rich_metadata") if metadata is None else metadata
            if kept_metadata:
                wrapper["rich_metadata"] = kept_metadata
            self._write_wrapper(path, wrapper)
        return path

    def load(self, name: str) -> dict[str, Any]:
        """The stored wrapper of workflow `name` (keys name, description, ir, ...)."""
        path = self.get_path(name)
        if not path.is_file():
            raise self._not_found(name, path)
        return self._read_wrapper(path)

    def load_ir(self, name: str) -> dict[str, Any]:
        """Only the IR of saved workflow `name`."""
        ir: dict[str, Any] = self.load(name)["ir"]
        return ir

    def delete(self, name: str) -> None:
        """Remove saved workflow `name`; raises WorkflowNotFoundError when it does not exist."""
        path = self.get_path(name)
        if not path.is_file():
            raise self._not_found(name, path)
        with self._locked(name):
            try:
                path.unlink()
            except FileNotFoundError:
                raise self._not_found(name, path) from None
            except OSError as exc:
                raise WorkflowStorageError(
                    f"Cannot delete workflow file {path}: {exc.strerror or exc}", path=str(path)
                ) from exc

    def list_all(self) -> list[dict[str, Any]]:
        """Wrappers of every readable saved workflow, sorted by (file) name.

        Unreadable or corrupt files are skipped; one line per skipped file goes to `problems`.
        """
        self.problems = []
        directory = self.workflows_dir
        if not directory.is_dir():
            return []
        found: list[dict[str, Any]] = []
        for path in sorted(directory.glob("*.json"), key=lambda p: p.stem):
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                validate_name(path.stem)
                wrapper = self._read_wrapper(path)
            except WorkflowStorageError as exc:
                self.problems.append(exc.message)
                continue
            except ParameterError as exc:
                self.problems.append(f"Skipped {path}: {exc.message}")
                continue
            wrapper["name"] = path.stem  # the name `load` accepts, whatever the file says
            found.append(wrapper)
        return found

    # -- private helpers -------------------------------------------------------------------

    def _saved_names(self) -> list[str]:
        directory = self.workflows_dir
        if not directory.is_dir():
            return []
        return sorted(p.stem for p in directory.glob("*.json") if not p.name.startswith("."))

    def _not_found(self, name: str, path: Path) -> WorkflowNotFoundError:
        close = difflib.get_close_matches(name, self._saved_names(), n=3)
        if close:
            hint = "Did you mean: " + ", ".join(close) + "?"
        else:
            hint = "Run 'pflow workflow list' to see saved workflows"
        return WorkflowNotFoundError(f"Workflow '{name}' not found", hint=hint, path=str(path))

    def update_metadata(self, workflow_name: str, updates: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `updates` into the saved file's `rich_metadata`; return the new metadata.

        A callable value is applied to the stored value of its key (None when absent), so
        `{"execution_count": lambda n: (n or 0) + 1}` increments what is on disk. The whole
        read-modify-write holds the workflow's lock file, so concurrent updates lose nothing.
        The result must pass schemas/saved-workflow.schema.json; it is written atomically
        (temp file, fsync, rename, directory fsync) keeping the file's permissions. Raises
        WorkflowNotFoundError for an unknown name and WorkflowStorageError when the file is
        corrupt or cannot be written; either way the file on disk is left as it was.
        """
        path = self.get_path(workflow_name)
        with self._locked(workflow_name):
            _remove_stale_temp_files(path)
            if not path.is_file():
                raise self._not_found(workflow_name, path)
            wrapper = self._read_wrapper(path)
            stored = wrapper.get("rich_metadata")
            if stored is not None and not isinstance(stored, dict):
                raise _storage_error(
                    path, f"Saved workflow {path} is malformed: 'rich_metadata' is not an object"
                )
            metadata = dict(stored or {})
            for key, value in updates.items():
                metadata[key] = value(metadata.get(key)) if callable(value) else value
            wrapper["rich_metadata"] = metadata
            wrapper["updated_at"] = self.clock()
            problems = document_errors("saved-workflow.schema.json", wrapper)
            if problems:
                raise WorkflowStorageError(
                    f"Refusing to write {path}: the update breaks the saved-workflow schema "
                    f"({problems[0]})",
                    path=str(path),
                )
            self._write_wrapper(path, wrapper)
        return metadata

    def _previous_for_save(self, name: str, path: Path, force: bool) -> dict[str, Any] | None:
        """The wrapper a forced save replaces, None for a new workflow."""
        if not path.exists():
            return None
        if not force:
            raise WorkflowExistsError(
                f"Workflow '{name}' already exists",
                hint="use --force to replace it",
                path=str(path),
            )
        try:
            old = self._read_wrapper(path)
        except WorkflowStorageError as exc:
            raise WorkflowStorageError(
                f"Refusing to overwrite {path}: {exc.message}",
                hint=f"Inspect or delete {path} first, then save again",
                path=str(path),
            ) from exc
        return old

    def _read_wrapper(self, path: Path) -> dict[str, Any]:
        """Parse and sanity-check a saved wrapper; every problem is a WorkflowStorageError."""
        not_json = f"Saved workflow {path} is not valid JSON"
        try:
            data = _parse_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise _storage_error(path, f"Cannot read saved workflow {path}: {reason}") from exc
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise _storage_error(path, f"{not_json}: {exc.msg} ({where})") from exc
        except ValueError as exc:  # also UnicodeDecodeError, duplicate keys, NaN
            raise _storage_error(path, f"{not_json}: {exc}") from exc
        if not isinstance(data, dict):
            problem = f"top level is a JSON {type(data).__name__}, expected an object"
        elif not isinstance(data.get("ir"), dict):
            problem = "missing an 'ir' object"
        else:
            return data
        raise _storage_error(path, f"Saved workflow {path} is malformed: {problem}")

    def _write_wrapper(self, path: Path, wrapper: dict[str, Any]) -> None:
        """Serialise and atomically write `wrapper`; failures become WorkflowStorageError."""
        try:
            text = dump_json(wrapper)
        except (TypeError, ValueError) as exc:
            raise WorkflowStorageError(
                f"Workflow '{wrapper.get('name')}' cannot be saved as JSON: {exc}",
                path=str(path),
            ) from exc
        try:
            write_text_atomic(path, text)
        except OSError as exc:
            raise WorkflowStorageError(
                f"Cannot write workflow file {path}: {exc.strerror or exc}", path=str(path)
            ) from exc

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """Hold the per-workflow lock `<dir>/.<name>.json.lock` (created, never deleted)."""
        from filelock import FileLock, Timeout

        directory = self.workflows_dir
        lock_path = directory / f".{name}.json.lock"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(lock_path), timeout=self.lock_timeout)
            lock.acquire()
        except Timeout as exc:
            raise WorkflowStorageError(
                f"Timed out waiting for lock {lock_path}",
                hint="Another pflow process is writing this workflow; try again",
                path=str(lock_path),
            ) from exc
        except OSError as exc:
            raise WorkflowStorageError(
                f"Cannot create lock {lock_path}: {exc.strerror or exc}", path=str(lock_path)
            ) from exc
        try:
            yield
        finally:
            lock.release()
