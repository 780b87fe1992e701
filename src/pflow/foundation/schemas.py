"""The published JSON Schemas of pflow: where they live, loading them, validators for them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pflow.foundation.json_safe import json_pointer

IR_SCHEMA = "workflow-ir.schema.json"


def schema_dir() -> Path:
    """Folder holding the schemas: inside the installed wheel, else the source checkout's."""
    packaged = resources.files("pflow") / "schemas"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema file `name` (cached for the life of the process)."""
    data: dict[str, Any] = json.loads((schema_dir() / name).read_text(encoding="utf-8"))
    return data


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
    return [
        f"{json_pointer(e.absolute_path) or '/'}: {e.message}"
        for e in sorted(
            schema_validator(name).iter_errors(document), key=lambda e: list(e.absolute_path)
        )
    ]
