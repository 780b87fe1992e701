"""The quick validity check agrees with jsonschema: its True is never wrong, and it decides
the documents pflow meets every day (so valid runs never import jsonschema)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pflow.foundation.schema_check import certainly_valid
from pflow.foundation.schemas import (
    IR_SCHEMA,
    conforms,
    schema_by_id,
    schema_dir,
    schema_validator,
)

ROOT = Path(__file__).resolve().parents[2]
SAVED = "saved-workflow.schema.json"
SCHEMAS = sorted(p.name for p in schema_dir().glob("*.schema.json"))


def jsonschema_valid(name: str, document: Any) -> bool:
    return not any(True for _ in schema_validator(name).iter_errors(document))


def fixture_documents() -> list[tuple[str, Path]]:
    """Every JSON document of the schema fixtures, examples and golden cases, with its schema."""
    found = []
    for name in SCHEMAS:
        folder = ROOT / "tests" / "schemas" / name.removesuffix(".schema.json")
        found += [(name, p) for p in sorted(folder.glob("*/**/*.json"))]
    for path in sorted(ROOT.glob("examples/**/*.json")):
        found.append((IR_SCHEMA, path))
    for path in sorted(ROOT.glob("golden/cases/*/home/.pflow/workflows/*.json")):
        found.append((SAVED, path))
    for path in sorted(ROOT.glob("golden/cases/*/work/*.json")):
        found.append((IR_SCHEMA, path))
    return found


def test_fixtures_examples_and_golden_documents_agree_with_jsonschema() -> None:
    decided = 0
    for name, path in fixture_documents():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        valid = jsonschema_valid(name, document)
        quick = conforms(name, document)
        assert not (quick and not valid), f"{path} is invalid for {name} but passed the check"
        decided += quick
        if name in (IR_SCHEMA, SAVED):  # the schemas a run checks; the others may be undecided
            assert quick or not valid, f"{path} is valid but was left to jsonschema"
    assert decided > 300


# Replacement values that break documents in the ways a hand-edited file does.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "0.1.0", "1.0.0", "default", "string", "2026-01-01T00:00:00Z"])
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def mutate(document: Any, data: st.DataObject) -> Any:
    """`document` with one value replaced, one key removed, or one key added, at any depth."""
    if isinstance(document, dict) and document and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(document)))
        copy = dict(document)
        choice = data.draw(st.sampled_from(["descend", "drop", "replace", "add"]))
        if choice == "descend":
            copy[key] = mutate(copy[key], data)
        elif choice == "drop":
            del copy[key]
        elif choice == "replace":
            copy[key] = data.draw(json_values)
        else:
            copy[data.draw(st.text(max_size=6))] = data.draw(json_values)
        return copy
    if isinstance(document, list) and document and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(document) - 1))
        copy_list = list(document)
        copy_list[index] = mutate(copy_list[index], data)
        return copy_list
    return data.draw(json_values)


VALID: dict[str, list[Any]] = {}
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def valid_documents(name: str) -> list[Any]:
    documents = []
    for schema, path in fixture_documents():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if schema == name and jsonschema_valid(name, document):
            documents.append(document)
    return documents


@pytest.mark.parametrize("name", [IR_SCHEMA, SAVED, "execution-result.schema.json"])
@PROPERTY
@given(data=st.data())
def test_mutated_documents_agree_with_jsonschema(name: str, data: Any) -> None:
    if name not in VALID:  # computed once per schema, not once per example
        VALID[name] = valid_documents(name)
    seeds = VALID[name]
    document = data.draw(st.sampled_from(seeds))
    for _ in range(4):
        document = mutate(document, data)
        if conforms(name, document):
            assert jsonschema_valid(name, document), document


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        ({"type": "integer"}, 1.0, True),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"enum": [1]}, True, False),
        ({"const": [1, {"a": False}]}, [1.0, {"a": False}], True),
        ({"const": False}, 0, False),
        ({"minLength": 2}, "\ud800x", True),
        ({"pattern": "^a"}, "ba", False),
        ({"not": {}}, 1, False),  # unknown keyword: undecided, so not "valid"
        ({"format": "email"}, "a@b", False),  # a format it cannot decide
        ({"format": "date-time"}, "2026-02-30T00:00:00Z", False),
        ({"format": "date-time"}, "2024-02-29T23:59:59.5+00:00", True),
        ({"$ref": "#/$defs/missing"}, 1, False),
        ({"$defs": {"a": {"$id": "x", "type": "string"}}, "$ref": "#/$defs/a"}, "s", False),
        ({"additionalProperties": False, "patternProperties": {"^x-": {}}}, {"x-a": 1}, True),
        ({"additionalProperties": False, "properties": {"a": {}}}, {"b": 1}, False),
    ],
)
def test_keywords(schema: dict[str, Any], instance: Any, expected: bool) -> None:
    assert certainly_valid(schema, instance, schema_by_id) is expected


def test_a_valid_run_does_not_import_jsonschema(tmp_path: Path) -> None:
    workflow = tmp_path / "one.json"
    workflow.write_text(
        json.dumps(
            {
                "ir_version": "0.1.0",
                "nodes": [{"id": "a", "type": "shell", "params": {"command": "true"}}],
            }
        )
    )
    script = (
        "import sys\n"
        "from pflow.cli.app import run\n"
        "try:\n"
        f"    run(['run', {str(workflow)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print('jsonschema' in sys.modules)\n"
    )
    env = {"PFLOW_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout + done.stderr
