"""Records written by real runs are valid against schemas/run-record.schema.json.

Each test runs a workflow in process (RunPipeline, as `pflow run` and `pflow resume` do) with
PFLOW_HOME in a temporary folder, then validates what the run left: its `record.json` as
written, and the record `RunStore.load` returns (what `pflow runs show --json` prints).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from service_support import shell, workflow

from pflow.core.run_pipeline import RunOutcome, RunPipeline, RunRequest
from pflow.core.run_records import JOURNAL, RECORD, milliseconds, step_json
from pflow.core.run_store import RunStore
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.json_safe import dumps_utf8, to_json_safe
from pflow.foundation.schemas import document_errors, load_schema
from pflow.runtime.journal import Step
from pflow.runtime.redaction import secret_key_pattern

SCHEMA = "run-record.schema.json"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory of the runs, with PFLOW_HOME (and HOME) beside it."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PFLOW_HOME", str(tmp_path / "pflow-home"))
    monkeypatch.delenv("PFLOW_NO_RUNS", raising=False)
    monkeypatch.delenv("PFLOW_RUNS_KEEP", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _write(folder: Path, ir: dict[str, Any], name: str = "flow.json") -> str:
    path = folder / name
    path.write_text(json.dumps(ir), encoding="utf-8")
    return str(path)


def _run(path: str, params: dict[str, Any] | None = None, **options: Any) -> RunOutcome:
    return RunPipeline().run(RunRequest(path, params or {}, use_stdin=False, **options))


def _checked(outcome: RunOutcome) -> dict[str, Any]:
    """The run's record, from disk and through RunStore, after checking both are valid."""
    assert outcome.run_id is not None, "the run wrote no record"
    assert outcome.record_problem is None
    written = json.loads((RunStore().root / outcome.run_id / RECORD).read_text("utf-8"))
    assert document_errors(SCHEMA, written) == []
    loaded = RunStore().load(outcome.run_id)
    assert loaded == written
    assert outcome.cached_nodes == [n["node_id"] for n in written["nodes"] if n["cached"]]
    return loaded


def _statuses(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["node_id"], n["status"]) for n in record["nodes"]]


def _failing_chain() -> dict[str, Any]:
    return workflow(shell("one", "echo one"), shell("two", "exit 3"), shell("three", "echo 3"))


def test_a_successful_run(here: Path) -> None:
    ir = workflow(
        shell("one", "echo ${greeting}"),
        shell("two", "echo ${one.stdout}"),
        inputs={"greeting": {"type": "string"}, "api_token": {"type": "string"}},
    )
    outcome = _run(_write(here, ir), {"greeting": "hi", "api_token": "s3cr3t-value"})
    assert outcome.success
    record = _checked(outcome)
    assert record["status"] == "success" and record["final_action"] == "default"
    assert record["params"] == {"greeting": "hi", "api_token": "<redacted>"}
    assert record["workflow"]["path"] == str(here / "flow.json")
    assert _statuses(record) == [("one", "completed"), ("two", "completed")]


def test_a_failed_run(here: Path) -> None:
    outcome = _run(_write(here, _failing_chain()))
    assert not outcome.success
    record = _checked(outcome)
    assert record["status"] == "failed" and record["final_action"] == "error"
    assert _statuses(record) == [("one", "completed"), ("two", "failed"), ("three", "not_run")]
    assert record["errors"] and record["nodes"][1]["error"]


def test_a_keep_going_run_with_a_skipped_node(here: Path) -> None:
    ir = workflow(
        shell("bad", "exit 2"),
        shell("reader", "echo ${bad.stdout}"),
        shell("free", "echo free"),
        edges=[{"from": "bad", "to": "reader"}, {"from": "reader", "to": "free"}],
    )
    outcome = _run(_write(here, ir), keep_going=True)
    record = _checked(outcome)
    assert record["keep_going"] is True and record["status"] == "failed"
    assert dict(_statuses(record)) == {"bad": "failed", "reader": "skipped", "free": "completed"}
    assert {e["category"] for e in record["errors"]} >= {"skipped"}


def test_a_resumed_run(here: Path) -> None:
    path = _write(here, _failing_chain())
    failed = _checked(_run(path))
    _write(here, workflow(shell("one", "echo one"), shell("two", "echo 2"), shell("three", "true")))
    outcome = RunPipeline().resume_run(None, RunRequest("", use_stdin=False))
    assert outcome.error is None and outcome.resumed_from == failed["run_id"]
    record = _checked(outcome)
    assert record["resumed_from"] == failed["run_id"] and record["status"] == "success"
    assert [n["node_id"] for n in record["nodes"] if n["cached"]] == ["one"]


def test_a_record_rebuilt_from_the_journal(here: Path) -> None:
    outcome = _run(_write(here, _failing_chain()))
    assert outcome.run_id is not None
    (RunStore().root / outcome.run_id / RECORD).unlink()
    record = RunStore().load(outcome.run_id)
    assert document_errors(SCHEMA, record) == []
    assert record["status"] == "incomplete" and record["finished_at"] is None
    assert _statuses(record) == [("one", "completed"), ("two", "failed"), ("three", "not_run")]
    assert record["nodes"][2]["node_type"] == ""  # the journal keeps no type for it


def test_a_run_of_a_saved_workflow(here: Path) -> None:
    WorkflowManager().save("greeter", workflow(shell("hello", "echo hello")))
    record = _checked(_run("greeter"))
    assert record["workflow"]["name"] == "greeter"
    assert record["workflow"]["path"] is not None


@pytest.mark.usefixtures("probe_registry")
def test_an_interrupted_run(here: Path) -> None:
    ir = workflow(shell("one", "echo one"), {"id": "stop", "type": "interrupt-probe"})
    record = _checked(_run(_write(here, ir)))
    assert record["status"] == "interrupted"
    assert record["nodes"][1]["status"] == "failed"


def test_the_schema_redacts_the_keys_pflow_redacts() -> None:
    # The secret-key pattern of records is the one pflow applies (saved workflows' pattern).
    redacted = load_schema(SCHEMA)["$defs"]["redacted_value"]["patternProperties"]
    assert list(redacted) == [secret_key_pattern().pattern]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda r: r.update(run_id="20261207-abc"), "/run_id"),
        (lambda r: r["workflow"].update(ir_hash="sha256:ABC"), "/workflow/ir_hash"),
        (lambda r: r.update(status="done"), "/status"),
        (lambda r: r["nodes"][0].update(status="ok"), "/nodes/0/status"),
        (lambda r: r["params"].update(password="hunter2"), "/params/password"),
        (lambda r: r["nodes"][2].update(fingerprint="sha256:" + "0" * 64), "/nodes/2/fingerprint"),
        (lambda r: r.update(finished_at="2026-12-07 05:51:25"), "/finished_at"),
    ],
)
def test_a_damaged_record_is_invalid(here: Path, change: Any, pointer: str) -> None:
    record = _checked(_run(_write(here, _failing_chain())))
    change(record)
    errors = document_errors(SCHEMA, record)
    assert errors and {e.split(": ", 1)[0] for e in errors} == {pointer}, errors


# --- what is written stays what it was (run_records builds it by hand, for speed) ----------


def _reference_document(step: Step) -> dict[str, Any]:
    """A step's document as the dataclass defines it: every field in order, `error` only
    when set, the duration to 3 decimals, JSON-safe outputs."""
    document = asdict(step)
    if document["error"] is None:
        del document["error"]
    document["duration_ms"] = round(step.duration_ms, 3)
    document["outputs"] = to_json_safe(step.outputs) if step.outputs is not None else None
    return document


@pytest.mark.parametrize(
    "step",
    [
        Step("a", "shell", "completed", "default", 1.23456, "sha256:" + "0" * 64, {"out": "x"}),
        Step("b", "shell", "failed", "error", 0.1, None, None, error="exit 3"),
        Step("c", "llm", "completed", None, 0.0, "fp", {"b": b"\x00", "t": (1,)}, cached=True),
        Step("d", "echo", "completed", "ok", 2.0, None, {"n": {"k": [1]}, "f": float("nan")}),
        Step("e", "echo", "completed", "ok", 2.0, None, {"s": "caf\udcff \u00e9", "l": [1.5]}),
    ],
    ids=["completed", "failed", "bytes", "nan", "text"],
)
def test_a_step_text_is_the_step_as_its_dataclass_defines_it(step: Step) -> None:
    # The text is the document's one-line JSON, as journal lines and record.json are written.
    assert step_json(step) == dumps_utf8(_reference_document(step), indent=None, allow_nan=False)


def test_journal_lines_are_compact_json_with_surrogates_escaped(here: Path) -> None:
    # A lone surrogate (from undecodable bytes in argv) in the start line's params.
    ir = workflow(
        shell("one", "echo h\u00e9"),
        shell("two", "echo ${one.stdout}"),
        inputs={"raw": {"type": "string", "required": False}},
    )
    outcome = _run(_write(here, ir), {"raw": "caf\udcff"})
    assert outcome.run_id is not None
    lines = (RunStore().root / outcome.run_id / JOURNAL).read_text("utf-8").splitlines()
    assert len(lines) == 3
    assert '"raw": "caf\\udcff"' in lines[0] and '"stdout": "h\u00e9\\n"' in lines[1]
    for line in lines:
        assert line == dumps_utf8(json.loads(line), indent=None, allow_nan=False)


def test_record_json_is_one_compact_line_with_the_journals_step_texts(here: Path) -> None:
    # Two nodes that ran (their texts come from the journal) and one that did not run.
    ir = workflow(shell("one", "echo h\u00e9"), shell("two", "exit 3"), shell("three", "echo 3"))
    outcome = _run(_write(here, ir), {})
    assert outcome.run_id is not None
    folder = RunStore().root / outcome.run_id
    text = (folder / RECORD).read_text("utf-8")
    record = json.loads(text)
    assert text == dumps_utf8(record, indent=None, allow_nan=False) + "\n"
    assert [n["status"] for n in record["nodes"]] == ["completed", "failed", "not_run"]
    assert record["errors"] and list(record)[-2:] == ["nodes", "errors"]
    steps = [json.loads(line) for line in (folder / JOURNAL).read_text("utf-8").splitlines()[1:]]
    assert [{k: v for k, v in s.items() if k != "event"} for s in steps] == record["nodes"][:2]


@pytest.mark.parametrize("micros", [0, 1, 10, 100, 999, 1000, 1500, 985, 123456789, 10**15 - 1])
def test_milliseconds_are_written_as_json_writes_the_rounded_number(micros: int) -> None:
    duration = micros / 1000
    assert milliseconds(duration) == json.dumps(duration)
    # An unrounded duration is written to the microsecond.
    nudged = duration + 0.0004
    assert abs(json.loads(milliseconds(nudged)) - nudged) <= 0.0005 + 1e-9


def test_milliseconds_out_of_range_are_left_to_the_encoder() -> None:
    assert milliseconds(1e13) == "10000000000000.0" and milliseconds(-1.0) == "-1.0"
    with pytest.raises(ValueError):
        milliseconds(float("nan"))
