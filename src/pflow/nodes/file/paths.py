"""Shared by the file nodes: path and encoding parameters, destinations, OS error messages."""

from __future__ import annotations

import errno
import os
import shutil
from typing import Any

from pflow.nodes.base import PflowNode


class PathProblem(Exception):
    """A soft failure about a path; its message is shown to the user as the node's error."""


def absolute_path(raw: str) -> str:
    """`raw` with `~` expanded, made absolute against the current directory and normalised."""
    return os.path.normpath(os.path.abspath(os.path.expanduser(raw)))


def path_param(node: PflowNode, name: str) -> str:
    """The absolute path given in parameter `name`; NodeParamError when it cannot be a path."""
    raw: str = node.param(name)
    if not raw.strip():
        raise node.fail(f"parameter '{name}' is an empty path", hint=f"Give '{name}' a file path")
    if "\0" in raw:
        raise node.fail(
            f"parameter '{name}' contains a NUL character", hint="Remove the NUL from the path"
        )
    return absolute_path(raw)


def encoding_param(node: PflowNode) -> str:
    """The `encoding` parameter, checked to name a text encoding Python knows."""
    encoding: str = node.param("encoding")
    try:
        "".encode(encoding)  # LookupError for unknown names and for non-text codecs (base64)
    except LookupError:
        raise node.fail(
            f"unknown encoding {encoding!r}", hint="Use a Python codec name such as 'utf-8'"
        ) from None
    return encoding


def os_error_message(exc: OSError, path: str) -> str:
    """A one-line description of `exc`, an error about `path`."""
    where = exc.filename if isinstance(exc.filename, str) else path
    if isinstance(exc, FileNotFoundError):
        return f"File not found: {where}"
    if isinstance(exc, IsADirectoryError):
        return f"Is a directory: {where}"
    if isinstance(exc, PermissionError):
        return f"Permission denied: {where}"
    if isinstance(exc, NotADirectoryError):
        return f"Not a directory: {where}"
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    return f"{reason}: {where}"


def transfer_params(node: PflowNode) -> dict[str, Any]:
    """Parameters of copy-file and move-file: absolute paths and the overwrite flag."""
    raw_dest: str = node.param("dest_path")
    return {
        "source": path_param(node, "source_path"),
        "dest": path_param(node, "dest_path"),
        "into_dir": raw_dest.endswith(("/", os.sep)),
        "overwrite": node.param("overwrite"),
    }


def check_source_file(source: str) -> None:
    """Raise PathProblem unless `source` is an existing file (or a link to one)."""
    if not os.path.exists(source):
        raise PathProblem(f"Source file not found: {source}")
    if os.path.isdir(source):
        raise PathProblem(f"Source '{source}' is a directory; only files can be copied or moved")


def transfer_destination(source: str, dest: str, *, into_dir: bool, overwrite: bool) -> str:
    """Where a copy or move of `source` to `dest` lands; creates the destination directory.

    An existing directory as `dest` (or `into_dir`, a path given with a trailing slash)
    receives the file under its own name. Raises PathProblem when the destination exists and
    `overwrite` is false, is a directory itself, or is the source file.
    """
    if into_dir or os.path.isdir(dest):
        dest = os.path.join(dest, os.path.basename(source))
    if os.path.lexists(dest):
        if os.path.isdir(dest):
            raise PathProblem(f"Destination '{dest}' is a directory")
        if not overwrite:
            raise PathProblem(
                f"Destination '{dest}' already exists; set overwrite: true to replace it"
            )
        if os.path.exists(dest) and os.path.samefile(source, dest):
            raise PathProblem(f"Source and destination are the same file: '{dest}'")
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
    except OSError as exc:
        raise PathProblem(os_error_message(exc, os.path.dirname(dest))) from exc
    return dest


def transfer_error(exc: OSError, source: str) -> str:
    """A one-line description of an error raised while copying or moving `source`."""
    if isinstance(exc, shutil.SameFileError):
        return f"Source and destination are the same file: '{source}'"
    if exc.errno == errno.ENOSPC:
        return f"No space left on device while writing a copy of '{source}'"
    return os_error_message(exc, source)
