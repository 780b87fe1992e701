"""The published JSON Schemas of pflow: where they live, loading them, validators for them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pflow.foundation.json_safe import json_pointer
from pflow.foundation.schema_check import certainly_valid

IR_SCHEMA = "workflow-ir.schema.json"


def schema_dir() -> Path:
    """Folder holding the schemas: inside the installed wheel, else the source checkout's."""
    package = Path(__file__).resolve().parents[1]  # the pflow package (importlib.resources
    packaged = package / "schemas"  # costs more to import than this whole lookup)
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema file `name` (cached for the life of the process)."""
    data: dict[str, Any] = json.loads((schema_dir() / name).read_text(encoding="utf-8"))
    return data


@cache
def schema_by_id(schema_id: str) -> dict[str, Any] | None:
    """The pflow schema whose `$id` is `schema_id`, or None."""
    for path in sorted(schema_dir().glob("*.schema.json")):
        schema = load_schema(path.name)
        if schema.get("$id") == schema_id:
            return schema
    return None


def conforms(name: str, document: Any) -> bool:
    """True when `document` is certainly valid against schema `name`, without jsonschema.

    False means invalid or undecided: ask a validator (`document_errors`, jsonschema).
    """
    return certainly_valid(load_schema(name), document, schema_by_id)


@cache
def _registry() -> Any:
    """pflow's schemas by `$id`, so references between them resolve locally."""
    from referencing import Registry as RefRegistry
    from referencing import Resource

    return RefRegistry().with_resources(
        (load_schema(p.name)["$id"], Resource.from_contents(load_schema(p.name)))
        for p in sorted(schema_dir().glob("*.schema.json"))
    )


@cache
def schema_validator(name: str, definition: str | None = None) -> Any:
    """A validator for schema `name`, or for its `$defs/<definition>`, with `format` checked."""
    import jsonschema

    schema = load_schema(name)
    target = schema if definition is None else {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    validator_cls = jsonschema.validators.validator_for(schema)
    return validator_cls(target, registry=_registry(), format_checker=validator_cls.FORMAT_CHECKER)


def document_errors(name: str, document: Any) -> list[str]:
    """Every violation of schema `name` by `document`, as "<pointer>: <message>" lines.

    References between pflow's schemas (by `$id`) resolve locally; `format` is checked.
    """
    if conforms(name, document):
        return []
    return [
        f"{json_pointer(e.absolute_path) or '/'}: {e.message}"
        for e in sorted(
            schema_validator(name).iter_errors(document), key=lambda e: list(e.absolute_path)
        )
    ]
