#!/usr/bin/env python3
"""Generate the published JSON Schemas in schemas/ from their sources in schemas/src/.

Each source `schemas/src/<name>.schema.json` is a hand-written JSON Schema (draft 2020-12)
with an absolute `$id`; sources refer to one another by that `$id` URL. The generated
`schemas/<name>.schema.json` is the same schema made self-contained, a compound document as
JSON Schema 2020-12 describes bundling: every source it refers to, directly or through
another source, is embedded under the root's `$defs` by its name (`workflow-ir`,
`execution-result`, ...) and keeps its own `$id`. The `$ref` URLs stay as they are and
resolve inside the document, so a validator needs neither the network nor the other files.

The output is deterministic: keys keep the order of the sources (a `$comment` saying the
file is generated follows the root's `$id`; embedded schemas come after the source's own
`$defs`, sorted by name), with 2-space indentation, a container on one line when it fits in
100 columns, and a final newline.

    python scripts/bundle_schemas.py           # write schemas/*.schema.json
    python scripts/bundle_schemas.py --check   # exit 1 if any of them is out of date

Exit codes: 0 done (or up to date), 1 out of date (--check) or a generated file without a
source, 2 a source that cannot be bundled (unreadable, no `$id`, a reference to an unknown
schema, a `$defs` name already taken).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SUFFIX = ".schema.json"
WIDTH = 100
FIX_COMMAND = "python scripts/bundle_schemas.py"
NOTICE = (
    "Generated from schemas/src by scripts/bundle_schemas.py; edit the source and rerun the"
    " script instead of editing this file."
)

# Keywords whose values are instance data, not schemas: a "$ref" inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "examples"})
# Keywords whose values map names to schemas: the names are not keywords.
_SCHEMA_MAPS = frozenset(
    {"$defs", "definitions", "dependentSchemas", "patternProperties", "properties"}
)
_REFERENCE_KEYWORDS = frozenset({"$ref", "$dynamicRef"})


class BundleError(Exception):
    """A source that cannot be bundled; the message names the file and the problem."""


@dataclass(frozen=True)
class Source:
    """One hand-written schema under schemas/src/."""

    name: str  # the file name without .schema.json, also its key under a bundle's $defs
    path: Path
    schema: dict[str, Any]

    @property
    def id(self) -> str:
        value: str = self.schema["$id"]
        return value


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def load_sources(root: Path = ROOT) -> dict[str, Source]:
    """Every source under `root`/schemas/src, by `$id`, in file name order."""
    sources: dict[str, Source] = {}
    for path in sorted((root / "schemas" / "src").glob(f"*{SUFFIX}")):
        where = _relative(path, root)
        try:
            schema = json.loads(
                path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys
            )
        except (OSError, ValueError) as error:
            raise BundleError(f"{where}: cannot read it as JSON: {error}") from error
        if not isinstance(schema, dict):
            raise BundleError(f"{where}: the top level is not an object")
        schema_id = schema.get("$id")
        if not isinstance(schema_id, str) or not urlsplit(schema_id).scheme:
            raise BundleError(f"{where}: no absolute $id")
        if urldefrag(schema_id).fragment:
            raise BundleError(f"{where}: its $id {schema_id!r} has a fragment")
        if schema_id in sources:
            other = _relative(sources[schema_id].path, root)
            raise BundleError(f"{where}: its $id {schema_id!r} is also the $id of {other}")
        if not isinstance(schema.get("$defs", {}), dict):
            raise BundleError(f"{where}: $defs is not an object")
        sources[schema_id] = Source(path.name.removesuffix(SUFFIX), path, schema)
    return sources


def referenced_resources(schema: Any, base: str = "") -> set[str]:
    """The URLs (without fragment) of every schema resource that `schema` refers to.

    References are resolved against the `$id` in scope, so a reference within the schema
    itself (`#/$defs/...`) gives the schema's own `$id`.
    """
    found: set[str] = set()
    _collect(schema, base, found)
    return found


def _collect(node: Any, base: str, found: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, base, found)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$id"), str):
        base = urljoin(base, node["$id"])
    for key, value in node.items():
        if key in _REFERENCE_KEYWORDS and isinstance(value, str):
            found.add(urldefrag(urljoin(base, value)).url)
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            for member in value.values():
                _collect(member, base, found)
        elif key not in _DATA_KEYWORDS:
            _collect(value, base, found)


def _dependencies(source: Source, sources: dict[str, Source], root: Path) -> list[Source]:
    """The other sources `source` refers to, directly or through them, sorted by name."""
    needed: dict[str, Source] = {}
    pending = [source]
    while pending:
        current = pending.pop()
        for url in sorted(referenced_resources(current.schema, current.id)):
            if url == source.id or url in needed:
                continue
            if url not in sources:
                where = _relative(current.path, root)
                raise BundleError(
                    f"{where}: refers to {url!r}, which is not the $id of a schema in schemas/src"
                )
            needed[url] = sources[url]
            pending.append(sources[url])
    return sorted(needed.values(), key=lambda s: s.name)


def bundle(source: Source, sources: dict[str, Source], root: Path = ROOT) -> dict[str, Any]:
    """`source` as a compound document: every schema it refers to embedded under `$defs`."""
    own_defs: dict[str, Any] = source.schema.get("$defs", {})
    embedded: dict[str, Any] = {}
    for other in _dependencies(source, sources, root):
        if other.name in own_defs:
            raise BundleError(
                f"{_relative(source.path, root)}: $defs already has {other.name!r}, the name"
                f" under which {_relative(other.path, root)} would be embedded"
            )
        embedded[other.name] = other.schema
    comment = source.schema.get("$comment")
    result: dict[str, Any] = {}
    for key, value in source.schema.items():
        if key == "$comment":
            continue
        result[key] = value
        if key == "$id":
            result["$comment"] = NOTICE if comment is None else f"{NOTICE} {comment}"
    if embedded:
        result["$defs"] = {**own_defs, **embedded}
    return result


def render(value: Any, indent: int = 0, lead: int = 0) -> str:
    """`value` as JSON text starting at column `indent` + `lead`.

    A non-empty container is written on one line when it fits in WIDTH columns (counting a
    comma after it), else one member per line, indented 2 more. The document root is always
    one member per line.
    """
    flat = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    is_root = indent == 0 and lead == 0
    if not isinstance(value, dict | list) or not value:
        return flat
    if not is_root and indent + lead + len(flat) + 1 <= WIDTH:
        return flat
    pad = " " * (indent + 2)
    lines: list[str] = []
    if isinstance(value, dict):
        for key, member in value.items():
            label = json.dumps(key, ensure_ascii=False) + ": "
            lines.append(pad + label + render(member, indent + 2, len(label)))
        opening, closing = "{", "}"
    else:
        lines.extend(pad + render(member, indent + 2) for member in value)
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(lines) + "\n" + " " * indent + closing


def generated_files(root: Path = ROOT) -> dict[Path, str]:
    """Each file to write under `root`/schemas, with its text."""
    sources = load_sources(root)
    if not sources:
        raise BundleError(f"no *{SUFFIX} under {_relative(root / 'schemas' / 'src', root)}")
    return {
        root / "schemas" / source.path.name: render(bundle(source, sources, root)) + "\n"
        for source in sources.values()
    }


def _orphans(root: Path, expected: dict[Path, str]) -> list[str]:
    return [
        f"{_relative(path, root)} has no source {_relative(path.parent / 'src' / path.name, root)};"
        " move it there or delete it"
        for path in sorted((root / "schemas").glob(f"*{SUFFIX}"))
        if path not in expected
    ]


def stale_files(root: Path = ROOT) -> list[str]:
    """One line for each file under `root`/schemas that the script would change or reject."""
    expected = generated_files(root)
    problems: list[str] = []
    for path, text in expected.items():
        where = _relative(path, root)
        if not path.is_file():
            problems.append(f"{where} is missing")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"{where} differs from what schemas/src/{path.name} generates")
    return problems + _orphans(root, expected)


def write_files(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """Write every generated file that changed; (files written, generated files without source)."""
    expected = generated_files(root)
    written: list[str] = []
    for path, text in expected.items():
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            written.append(_relative(path, root))
    return written, _orphans(root, expected)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the self-contained schemas/*.schema.json from schemas/src/."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a generated file is missing or out of date",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale_files()
            if problems:
                for line in problems:
                    print(f"stale: {line}", file=sys.stderr)
                print(
                    f"The generated schemas are out of date. Run `{FIX_COMMAND}` and commit"
                    " the result; edit only the sources in schemas/src.",
                    file=sys.stderr,
                )
                return 1
            print("The generated schemas in schemas/ are up to date.")
            return 0
        written, orphans = write_files()
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name in written:
        print(f"wrote {name}")
    if not written:
        print("The generated schemas in schemas/ were already up to date.")
    for line in orphans:
        print(f"error: {line}", file=sys.stderr)
    return 1 if orphans else 0


if __name__ == "__main__":
    sys.exit(main())
