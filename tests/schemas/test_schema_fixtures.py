"""Every JSON Schema under `schemas/` against its fixtures under `tests/schemas/<name>/`.

A folder `tests/schemas/<name>/` holds fixtures for `schemas/<name>.schema.json`:
`valid/*.json` must pass the schema; `invalid/*.json` must each fail it at exactly one place
(one defect per file, named by the file). Adding a schema means adding such a folder; nothing
here needs to change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pflow.foundation.schemas import document_errors

FIXTURES = Path(__file__).resolve().parent
SCHEMAS = FIXTURES.parents[1] / "schemas"


def _fixture_dirs() -> list[Path]:
    return sorted(
        d
        for d in FIXTURES.iterdir()
        if d.is_dir() and ((d / "valid").is_dir() or (d / "invalid").is_dir())
    )


def _fixtures(kind: str) -> list[Any]:
    return [
        pytest.param(d.name, path, id=f"{d.name}/{kind}/{path.name}")
        for d in _fixture_dirs()
        for path in sorted((d / kind).glob("*.json"))
    ]


def _schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / f"{name}.schema.json"
    assert path.is_file(), f"tests/schemas/{name}/ has no schema at {path}"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _errors(name: str, document: Any) -> list[str]:
    # pflow's own loader: references between the schemas resolve locally, formats are checked.
    return document_errors(f"{name}.schema.json", document)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_fixture_folders() -> None:
    assert "workflow-ir" in [d.name for d in _fixture_dirs()]


@pytest.mark.parametrize("folder", _fixture_dirs(), ids=lambda d: d.name)
def test_schema_is_a_valid_draft_2020_12_schema(folder: Path) -> None:
    schema = _schema(folder.name)
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("folder", _fixture_dirs(), ids=lambda d: d.name)
def test_folder_has_valid_and_invalid_fixtures(folder: Path) -> None:
    assert list((folder / "valid").glob("*.json")), f"{folder.name} has no valid fixtures"
    assert list((folder / "invalid").glob("*.json")), f"{folder.name} has no invalid fixtures"


@pytest.mark.parametrize("folder", _fixture_dirs(), ids=lambda d: d.name)
def test_valid_fixtures_cover_every_top_level_key(folder: Path) -> None:
    schema = _schema(folder.name)
    declared = set(schema.get("properties", {}))
    used: set[str] = set()
    for path in (folder / "valid").glob("*.json"):
        document = _load(path)
        if isinstance(document, dict):
            used |= set(document)
    assert declared <= used, f"no valid fixture uses {sorted(declared - used)}"


@pytest.mark.parametrize(("name", "path"), _fixtures("valid"))
def test_valid_fixture_passes(name: str, path: Path) -> None:
    assert _errors(name, _load(path)) == []


@pytest.mark.parametrize(("name", "path"), _fixtures("invalid"))
def test_invalid_fixture_fails_with_one_error(name: str, path: Path) -> None:
    # One defect: every reported error sits at the same place (a value may break two keywords).
    errors = _errors(name, _load(path))
    assert errors, "the invalid fixture passed the schema"
    assert len({e.split(": ", 1)[0] for e in errors}) == 1, errors


def test_date_time_format_is_really_checked() -> None:
    # Without a format backend jsonschema accepts any string as a date-time.
    checker = Draft202012Validator.FORMAT_CHECKER
    assert "date-time" in checker.checkers
    assert not checker.conforms("2026-13-01T00:00:00+00:00", "date-time")
    assert checker.conforms("2026-11-26T16:00:00.123456+00:00", "date-time")


def test_schemas_pass_the_metaschema_with_formats_checked() -> None:
    # check-jsonschema also checks `format: regex` (ECMA-262), which check_schema does not.
    tool = Path(sys.executable).parent / "check-jsonschema"
    if not tool.exists():
        pytest.skip("check-jsonschema is not installed beside this Python")
    files = sorted(str(p) for p in SCHEMAS.glob("*.schema.json"))
    done = subprocess.run([str(tool), "--check-metaschema", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
