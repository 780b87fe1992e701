"""Crash-safe file writing: write a sibling temp file, fsync it, then rename it into place."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from pflow.foundation.json_safe import dumps_utf8


def dump_json(data: Any) -> str:
    """Serialise `data` the way pflow stores JSON: 2-space indent, UTF-8 text, trailing newline.

    Raises ValueError for NaN/Infinity (not valid JSON) and TypeError for non-JSON values.
    """
    return dumps_utf8(data, allow_nan=False) + "\n"


def _current_umask() -> int:
    """The process umask (reading it requires setting it; it is restored at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _target_mode(path: Path, mode: int | None) -> int:
    """Mode for the new file: explicit, else the existing file's, else 0o666 minus umask."""
    if mode is not None:
        return mode
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_current_umask()


def _fsync_directory(directory: Path) -> None:
    """Persist a rename by fsyncing its directory; silently skipped where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace `path` with `text` (UTF-8) so readers see either the old or the new content."""
    write_bytes_atomic(path, text.encode("utf-8"), mode=mode)


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data` so readers see either the old or the new content.

    The temp file `.<basename>.<random>.tmp` lives next to `path`; it is fsynced, renamed over
    `path`, and the directory is fsynced. On any failure the temp file is removed and the
    exception re-raised, leaving an existing `path` untouched. The new file keeps the mode of
    the file it replaces (or gets 0o666 minus the umask). This module imports only
    pflow.foundation.json_safe, so every layer may use it.
    """
    path = Path(path)
    directory = path.parent
    final_mode = _target_mode(path, mode)
    tmp = directory / f".{path.name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, final_mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)
