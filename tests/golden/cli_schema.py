"""Every JSON document a golden case prints, validated against schemas/cli-output.schema.json.

A case is in JSON mode when its case.toml says `stdout_json = true` (the harness then
normalises stdout as one JSON document); its RAW stdout, before normalisation, must be one
document of exactly one kind of the schema (one `$defs` entry), and the kind must agree with
the exit code. The schema comes from the pflow of the test environment (this tree, also
when `golden_baseline` runs an older pflow executable), compiled once per process.
"""

from __future__ import annotations

import json
from typing import Any

from harness import Case, RunResult

from pflow.foundation.schemas import load_schema, schema_validator

CLI_SCHEMA = "cli-output.schema.json"

# The exit codes each kind of document goes with.
KIND_EXIT_CODES: dict[str, set[int]] = {
    "run_success": {0},
    "run_failed": {1},
    "run_keep_going_failed": {1},
    "run_invalid": {3},
    "run_not_found": {4},
    "run_interrupted": {130, 143, 129},  # Ctrl-C, SIGTERM, SIGHUP
    # pflow resume: no record (4), an unreadable one (3), an ambiguous id (2), resumed already (1)
    "run_record_error": {1, 2, 3, 4},
    "workflow_list": {0},
    "registry_list": {0},
    "registry_describe": {0},
    "validate_valid": {0},
    "validate_invalid": {3, 4},  # an invalid workflow; one not found
    "runs_list": {0},
    "run_record": {0},
    "workflow_history": {0},
}


def _validators() -> tuple[Any, dict[str, Any]]:
    """The whole-schema validator and one validator per document kind (built once)."""
    kinds = {
        ref["$ref"].rsplit("/", 1)[1]: schema_validator(CLI_SCHEMA, ref["$ref"].rsplit("/", 1)[1])
        for ref in load_schema(CLI_SCHEMA)["oneOf"]
    }
    return schema_validator(CLI_SCHEMA), kinds


def is_json_mode(case: Case) -> bool:
    """Whether the case's stdout is one JSON document pflow printed."""
    return case.stdout_json


def document_kinds(document: Any) -> list[str]:
    """Names of the schema's kinds (`$defs` entries) that `document` is valid against."""
    _, kinds = _validators()
    return [name for name, validator in kinds.items() if validator.is_valid(document)]


def cli_output_errors(case: Case, stdout: bytes, exit_code: int | None = None) -> list[str]:
    """Problems of a JSON-mode case's raw stdout against the schema ([] when it conforms).

    Not JSON mode, or nothing on stdout: nothing to check.
    """
    if not is_json_mode(case) or not stdout.strip():
        return []
    text = stdout.decode("utf-8", errors="strict")
    if case.tty in ("both", "stdout"):
        text = text.replace("\r\n", "\n")
    try:
        document = json.loads(text)
    except ValueError as exc:
        return [f"stdout is not one JSON document: {exc}"]
    whole, kinds = _validators()
    if not whole.is_valid(document):
        # oneOf only says "no kind matched": explain against the kind the document looks like.
        kind = intended_kind(document)
        return [f"not a valid {kind} document:"] + [
            f"  /{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in sorted(kinds[kind].iter_errors(document), key=lambda e: list(e.path))
        ]
    problems: list[str] = []
    (kind,) = document_kinds(document)
    expected = KIND_EXIT_CODES[kind]
    if exit_code is not None and exit_code not in expected:
        codes = " or ".join(map(str, sorted(expected)))
        problems.append(f"a {kind} document goes with exit code {codes}, got {exit_code}")
    return problems


def intended_kind(document: Any) -> str:
    """The kind a document claims to be, by its shape (for error messages)."""
    if isinstance(document, list) or not isinstance(document, dict):
        return "workflow_list"
    if "success" not in document:
        return _intended_other_kind(document)
    if document["success"] is True:
        return "run_success"
    error = document.get("error")
    error_type = error.get("type") if isinstance(error, dict) else None
    by_type = {
        "WorkflowNotFoundError": "run_not_found",
        "Interrupted": "run_interrupted",
        "RunRecordError": "run_record_error",
    }
    if error_type in by_type:
        return by_type[error_type]
    if isinstance(error_type, str) and (
        error_type.endswith("ValidationError")
        or error_type
        in {"InvalidWorkflowError", "WorkflowSyntaxError", "CompilationError", "ParameterError"}
    ):
        return "run_invalid"
    return "run_keep_going_failed" if "errors" in document else "run_failed"


def _intended_other_kind(document: dict[str, Any]) -> str:
    """The kind of a document that is not a run's (it has no `success`)."""
    if "record_version" in document:
        return "run_record"
    if "valid" in document:
        return "validate_valid" if document["valid"] is True else "validate_invalid"
    if "runs" in document:
        return "workflow_history" if "name" in document else "runs_list"
    return "registry_list" if "nodes" in document else "registry_describe"


def assert_cli_output(case: Case, result: RunResult) -> None:
    """The invariant test_golden.check_invariants calls for every case."""
    errors = cli_output_errors(case, result.stdout, result.exit_code)
    assert errors == [], f"{case.case_id}: stdout breaks {CLI_SCHEMA}: {errors}"
