"""Pending snapshot changes: what a failing golden case produced, kept beside its snapshot.

When a case's output differs from its snapshot, the harness writes the new bytes of each
changed stream as `snapshots/<case-id>/<stream>.new` (`<stream>.gone` marks a stream the run
no longer produces) and prints a unified diff; a case that passes removes its stale pending
files. Pending files are ignored by git. `nox -s golden_review` (this module) lists them and
accepts or rejects them case by case:

    nox -s golden_review                      # list the pending changes, with diffs
    nox -s golden_review -- --accept CASE_ID  # the new bytes become the snapshot
    nox -s golden_review -- --reject CASE_ID  # drop the pending files, keep the snapshot

Accepting changes a promise to users: it belongs in a reviewed commit of its own (see
golden/README.md, "Reviewing a change"), so the session refuses to run when `CI` is set.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

SNAPSHOTS_DIR = Path(__file__).resolve().parents[2] / "golden" / "snapshots"
NEW, GONE = ".new", ".gone"


def is_pending(path: Path) -> bool:
    return path.suffix in (NEW, GONE)


def clear_pending(folder: Path) -> None:
    """Remove the pending files of one case (it passed, or its change was rejected)."""
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and is_pending(path):
                path.unlink()


def write_pending(folder: Path, recorded: dict[str, bytes], produced: dict[str, bytes]) -> None:
    """Write `<stream>.new` for each stream that differs or is new, `<stream>.gone` for each
    recorded stream the run no longer produces. Earlier pending files of the case go first."""
    clear_pending(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in produced.items():
        if recorded.get(name) != data:
            (folder / f"{name}{NEW}").write_bytes(data)
    for name in recorded.keys() - produced.keys():
        (folder / f"{name}{GONE}").write_bytes(b"")


def pending(snapshots: Path = SNAPSHOTS_DIR) -> dict[str, list[Path]]:
    """Case id -> its pending files, for every case that has any."""
    found: dict[str, list[Path]] = {}
    if not snapshots.is_dir():
        return found
    for folder in sorted(p for p in snapshots.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir() if p.is_file() and is_pending(p))
        if files:
            found[folder.name] = files
    return found


def describe(path: Path) -> str:
    """A unified diff of one pending file against the snapshot stream it would replace."""
    target = path.with_suffix("")
    old = target.read_bytes() if target.is_file() else b""
    new = b"" if path.suffix == GONE else path.read_bytes()
    label = f"{target.parent.name}/{target.name}"
    if path.suffix == GONE:
        header = f"{label}: the run no longer produces this stream (accepting deletes it)"
    elif not target.is_file():
        header = f"{label}: a new stream"
    else:
        header = f"{label}: changed"
    diff = difflib.unified_diff(
        [repr(x) for x in old.splitlines(keepends=True)],
        [repr(x) for x in new.splitlines(keepends=True)],
        f"golden/snapshots/{label}",
        f"golden/snapshots/{label}{path.suffix}",
        lineterm="",
    )
    return "\n".join([header, *diff])


def accept(folder: Path) -> list[str]:
    """Make the pending files of one case its snapshot; the names of the streams changed."""
    changed = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and is_pending(p)):
        target = path.with_suffix("")
        if path.suffix == GONE:
            target.unlink(missing_ok=True)
            path.unlink()
        else:
            path.replace(target)
        changed.append(target.name)
    return changed


def main(argv: list[str] | None = None, snapshots: Path = SNAPSHOTS_DIR) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s golden_review --",
        description="List, accept or reject the pending golden snapshot changes.",
    )
    parser.add_argument("--accept", action="append", default=[], metavar="CASE_ID")
    parser.add_argument("--reject", action="append", default=[], metavar="CASE_ID")
    args = parser.parse_args(argv)
    if os.environ.get("CI"):
        print("golden_review refuses to run with CI set: accepting is reviewed", file=sys.stderr)
        return 2
    found = pending(snapshots)
    unknown = sorted(set(args.accept + args.reject) - found.keys())
    if unknown:
        print(f"no pending changes for: {', '.join(unknown)}", file=sys.stderr)
        return 1
    for case_id in args.accept:
        names = accept(snapshots / case_id)
        print(f"accepted {case_id}: {', '.join(names)}")
    for case_id in args.reject:
        clear_pending(snapshots / case_id)
        print(f"rejected {case_id}")
    if args.accept or args.reject:
        return 0
    if not found:
        print("no pending snapshot changes")
        return 0
    for case_id, files in found.items():
        print(f"== {case_id}")
        for path in files:
            print(describe(path))
        print()
    print(f"{len(found)} case(s) pending; accept one: nox -s golden_review -- --accept CASE_ID")
    return 0


if __name__ == "__main__":
    sys.exit(main())
