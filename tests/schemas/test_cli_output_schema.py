"""schemas/cli-output.schema.json: one named kind per JSON document the pflow command prints.

test_schema_fixtures.py already checks every fixture under tests/schemas/cli-output/ against
the whole schema; here each document is checked against the kinds one by one: a valid
fixture is exactly one kind, every kind has a valid fixture, and an invalid fixture is no
kind at all.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pflow.foundation.schemas import document_errors, load_schema, schema_validator

FIXTURES = Path(__file__).resolve().parent / "cli-output"
SCHEMA = "cli-output.schema.json"
GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _kinds() -> list[str]:
    return [ref["$ref"].removeprefix("#/$defs/") for ref in load_schema(SCHEMA)["oneOf"]]


def _is_kind(kind: str, document: Any) -> bool:
    return bool(schema_validator(SCHEMA, kind).is_valid(document))


def _fixtures(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*.json"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_kinds_are_the_documented_ones() -> None:
    assert _kinds() == [
        "run_success",
        "run_failed",
        "run_keep_going_failed",
        "run_invalid",
        "run_not_found",
        "run_interrupted",
        "run_record_error",
        "workflow_list",
        "registry_list",
        "registry_describe",
        "validate_valid",
        "validate_invalid",
        "runs_list",
        "run_record",
        "workflow_history",
    ]


def test_schema_id_is_versioned_like_the_others() -> None:
    assert load_schema(SCHEMA)["$id"] == (
        "https://pflow.dev/schemas/cli-output/1.0.0/cli-output.schema.json"
    )


@pytest.mark.parametrize("path", _fixtures("valid"), ids=lambda p: p.name)
def test_valid_fixture_is_exactly_one_kind(path: Path) -> None:
    document = _load(path)
    assert document_errors(SCHEMA, document) == []
    matching = [kind for kind in _kinds() if _is_kind(kind, document)]
    assert len(matching) == 1, matching


def test_every_kind_has_a_valid_fixture() -> None:
    seen = {kind for path in _fixtures("valid") for kind in _kinds() if _is_kind(kind, _load(path))}
    assert seen == set(_kinds())


@pytest.mark.parametrize("path", _fixtures("invalid"), ids=lambda p: p.name)
def test_invalid_fixture_is_no_kind(path: Path) -> None:
    document = _load(path)
    assert [kind for kind in _kinds() if _is_kind(kind, document)] == []


@pytest.mark.parametrize("document", [{"success": True}, [], {"nodes": []}])
def test_small_documents(document: Any) -> None:
    # An empty saved-workflow list and an empty registry are documents; a bare success is not.
    expected_valid = document != {"success": True}
    assert (document_errors(SCHEMA, document) == []) is expected_valid


def _golden_cli_schema() -> ModuleType:
    """tests/golden/cli_schema.py, which checks the golden cases' JSON output by kind."""
    if str(GOLDEN) not in sys.path:
        sys.path.insert(0, str(GOLDEN))  # it imports the golden harness as a top-level module
    return importlib.import_module("cli_schema")


def test_the_golden_check_knows_the_exit_codes_of_every_kind() -> None:
    assert set(_golden_cli_schema().KIND_EXIT_CODES) == set(_kinds())


@pytest.mark.parametrize("path", _fixtures("valid"), ids=lambda p: p.name)
def test_the_golden_check_guesses_the_kind_of_a_valid_fixture(path: Path) -> None:
    # intended_kind names the kind a document that breaks the schema was meant to be.
    document = _load(path)
    assert [_golden_cli_schema().intended_kind(document)] == [
        kind for kind in _kinds() if _is_kind(kind, document)
    ]
