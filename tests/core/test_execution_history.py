"""Tests for pflow.core.execution_history: what a run of a saved workflow records."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pflow.core.execution_history import (
    MAX_ERRORS,
    MAX_VALUE_CHARS,
    REDACTED,
    history_updates,
    redact_params,
)
from pflow.core.run_errors import exception_error, failure_error
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.exceptions import (
    NodeExecutionError,
    SchemaValidationError,
    TemplateValidationError,
    WorkflowFailedError,
)
from pflow.foundation.schemas import document_errors, load_schema
from pflow.runtime.redaction import secret_key_pattern

SAVED_SCHEMA = "saved-workflow.schema.json"
SECRET_KEYS = [
    "token",
    "TOKEN",
    "github_token",
    "secret",
    "Client_Secret",
    "password",
    "PASSWORD",
    "db_password",
    "passwd",
    "api_key",
    "apikey",
    "api-key",
    "OPENAI_API_KEY",
    "ApiKey",
    "authorization",
    "Authorization",
    "auth",
    "credential",
    "credentials",
    "private_key",
    "private-key",
    "privatekey",
]
PLAIN_KEYS = ["who", "name", "path", "count", "url", "key", "monkey", "api", "private", "pass"]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def _wrapper(rich_metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "flow",
        "description": "",
        "ir": {"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "shell"}]},
        "created_at": "2025-01-01T00:00:00.000000+00:00",
        "updated_at": "2025-01-01T00:00:00.000000+00:00",
        "version": "1.0.0",
        "rich_metadata": rich_metadata,
    }


def _apply(updates: dict[str, Any], stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """What update_metadata would store: callables applied to the stored values."""
    merged = dict(stored or {})
    for key, value in updates.items():
        merged[key] = value(merged.get(key)) if callable(value) else value
    return merged


# -- redaction ------------------------------------------------------------------------------------


def test_pattern_is_the_schemas():
    rich = load_schema(SAVED_SCHEMA)["$defs"]["rich_metadata"]
    (schema_pattern,) = rich["properties"]["last_execution_params"]["patternProperties"]
    assert secret_key_pattern().pattern == schema_pattern


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_keys_are_redacted(key: str):
    redacted = redact_params({key: "hunter2", "who": "Ada"})
    assert redacted == {key: REDACTED, "who": "Ada"}
    # ... and the schema would have refused the value unredacted.
    assert document_errors(SAVED_SCHEMA, _wrapper({"last_execution_params": redacted})) == []
    leaked = _wrapper({"last_execution_params": {key: "hunter2"}})
    assert document_errors(SAVED_SCHEMA, leaked) != []


@pytest.mark.parametrize("key", PLAIN_KEYS)
def test_other_keys_are_kept(key: str):
    assert redact_params({key: "visible"}) == {key: "visible"}


@pytest.mark.parametrize("value", [None, "", 0, {"nested": "x"}, ["a"], b"\x00"])
def test_any_value_of_a_secret_key_is_redacted(value: Any):
    assert redact_params({"token": value}) == {"token": REDACTED}


def test_nested_secret_keys_are_redacted():
    # Regression: only top-level keys were redacted, so e.g. headers stored a bearer token.
    params = {
        "headers": {"Authorization": "Bearer abc", "Accept": "text/plain"},
        "accounts": [{"user": "ada", "password": "pw"}, {"user": "bob", "api_key": "k"}],
        "deep": {"level": {"client_secret": "s", "ok": 1}},
    }
    assert redact_params(params) == {
        "headers": {"Authorization": REDACTED, "Accept": "text/plain"},
        "accounts": [{"user": "ada", "password": REDACTED}, {"user": "bob", "api_key": REDACTED}],
        "deep": {"level": {"client_secret": REDACTED, "ok": 1}},
    }


def test_redaction_does_not_change_the_callers_params():
    params = {"token": "t", "nested": {"secret": "s"}, "who": "Ada"}
    redact_params(params)
    assert params == {"token": "t", "nested": {"secret": "s"}, "who": "Ada"}


# -- summarising values ---------------------------------------------------------------------------


def test_long_values_are_truncated():
    long = "x" * (MAX_VALUE_CHARS + 1)
    exact = "y" * MAX_VALUE_CHARS
    redacted = redact_params({"long": long, "exact": exact, "nested": {"list": [long]}})
    assert redacted["exact"] == exact
    expected = "x" * MAX_VALUE_CHARS + f"... [truncated, {MAX_VALUE_CHARS + 1} characters]"
    assert redacted["long"] == expected
    assert redacted["nested"]["list"] == [expected]


def test_bytes_and_other_non_json_values():
    redacted = redact_params(
        {
            "data": b"\x00\xff\x10",
            "nan": math.nan,
            "inf": -math.inf,
            "tuple": (1, "two"),
            "path": Path("/tmp/x"),
            "callback": print,
            "nested": {"fn": len, "n": 1.5, 3: "int key"},
        }
    )
    assert redacted == {
        "data": "<binary data: 3 bytes>",
        "nan": "nan",
        "inf": "-inf",
        "tuple": [1, "two"],
        "path": "/tmp/x",
        "nested": {"n": 1.5, "3": "int key"},
    }


# -- the updates ----------------------------------------------------------------------------------


def test_update_keys_and_values():
    errors = [{"message": "boom", "category": "exception"}]
    updates = history_updates(False, {"who": "Ada", "token": "t"}, errors)
    assert set(updates) == {
        "last_execution_timestamp",
        "last_execution_success",
        "last_execution_params",
        "last_execution_errors",
        "execution_count",
    }
    assert updates["last_execution_success"] is False
    assert updates["last_execution_params"] == {"who": "Ada", "token": REDACTED}
    assert updates["last_execution_errors"] == errors
    assert updates["last_execution_errors"] is not errors
    assert callable(updates["execution_count"])
    assert history_updates(True, {}, [])["last_execution_success"] is True


def test_timestamp_is_utc_with_offset():
    stamp = history_updates(True, {}, [])["last_execution_timestamp"]
    assert ISO_UTC.match(stamp)
    moment = datetime.fromisoformat(stamp)
    assert moment.utcoffset() == timedelta(0)


def test_error_list_is_capped_and_summarised():
    errors = [
        {"message": f"error {i} " + "m" * 2000, "category": "exception", "x-raw": b"\x01"}
        for i in range(MAX_ERRORS + 5)
    ]
    stored = history_updates(False, {}, errors)["last_execution_errors"]
    assert len(stored) == MAX_ERRORS
    assert [e["message"].split()[1] for e in stored] == [str(i) for i in range(MAX_ERRORS)]
    assert all(len(e["message"]) < 600 for e in stored)
    assert stored[0]["x-raw"] == "<binary data: 1 bytes>"


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, 1),
        (0, 1),
        (1, 2),
        (41, 42),
        ("garbage", 1),
        ("7", 1),
        (-3, 1),
        (True, 1),  # regression: a boolean counted as the integer 1
        (2.5, 1),
        ([], 1),
        ({"n": 2}, 1),
    ],
)
def test_count_increments_the_stored_value(stored: Any, expected: int):
    increment = history_updates(True, {}, [])["execution_count"]
    assert increment(stored) == expected


# -- the produced updates make a valid saved file -------------------------------------------------

ERRORS = [
    failure_error(
        WorkflowFailedError(
            "Node 'a' (shell) failed: Command failed with exit code 3",
            node_id="a",
            node_type="shell",
            hint="Add an error edge",
        )
    )
    | {"action": "error"},
    exception_error(
        NodeExecutionError(
            "Node 'a' (shell) failed: boom",
            details="RuntimeError: boom",
            node_id="a",
            node_type="shell",
            pointer="/nodes/0",
        )
    ),
    exception_error(SchemaValidationError("Invalid workflow at /: unknown key 'x'", pointer="")),
    exception_error(
        TemplateValidationError([SchemaValidationError("${x} is unknown", node_id="a")])
    ),
    exception_error(KeyError("missing")),
]
PARAMS = {
    "who": "Ada",
    "api_key": "sk-123",
    "blob": b"\x00" * 10,
    "big": "z" * 5000,
    "nested": {"token": "t", "list": [1, 2.5, None, True]},
    "count": 3,
}


@pytest.mark.parametrize("success", [True, False])
@pytest.mark.parametrize(
    "stored", [None, {"execution_count": 9, "search_keywords": ["a"], "x-team": "ops"}]
)
def test_updates_make_a_schema_valid_file(success: bool, stored: dict[str, Any] | None):
    errors = [] if success else ERRORS
    metadata = _apply(history_updates(success, PARAMS, errors), stored)
    assert document_errors(SAVED_SCHEMA, _wrapper(metadata)) == []
    assert metadata["execution_count"] == (stored or {}).get("execution_count", 0) + 1


def test_updates_through_the_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PFLOW_HOME", str(tmp_path / "pflow-home"))
    manager = WorkflowManager()
    ir = {"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "shell"}]}
    manager.save("flow", ir)
    manager.update_metadata("flow", history_updates(False, PARAMS, ERRORS))
    manager.update_metadata("flow", history_updates(True, PARAMS, []))
    stored = manager.load("flow")
    assert document_errors(SAVED_SCHEMA, stored) == []
    metadata = stored["rich_metadata"]
    assert metadata["execution_count"] == 2
    assert metadata["last_execution_success"] is True
    assert metadata["last_execution_errors"] == []
    assert metadata["last_execution_params"]["api_key"] == REDACTED
    assert metadata["last_execution_params"]["nested"]["token"] == REDACTED
    assert "sk-123" not in manager.get_path("flow").read_text(encoding="utf-8")
