"""Golden cases: each recorded pflow invocation must reproduce byte for byte."""

from __future__ import annotations

import difflib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_schema import assert_cli_output
from harness import SNAPSHOTS_DIR, Case, Ports, RunResult, case_ids, load_case, run_case
from normalize import NormContext, normalize
from review import clear_pending, is_pending, write_pending

from pflow.foundation.schemas import document_errors

_ANSI = re.compile(rb"\x1b\[")


@pytest.mark.parametrize("case_id", case_ids())
def test_golden_case(
    case_id: str,
    tmp_path: Path,
    pflow_bin: Path,
    golden_ports: Ports,
    record_mode: bool,
    hash_seed: str,
    write_new: bool,
) -> None:
    case = load_case(case_id)
    root = tmp_path / "case"
    root.mkdir()
    started = datetime.now(UTC)
    result = run_case(case, root, pflow_bin, golden_ports, hash_seed)
    window = (started, datetime.now(UTC))
    check_invariants(case, result)
    produced = normalized_artifacts(case, result, root, golden_ports, window)
    folder = SNAPSHOTS_DIR / case_id
    if record_mode:
        write_snapshots(folder, produced)
        return
    compare_snapshots(case_id, folder, produced, write_new)


def test_every_snapshot_folder_has_a_case() -> None:
    folders = sorted(p.name for p in SNAPSHOTS_DIR.iterdir() if p.is_dir())
    unused = sorted(set(folders) - set(case_ids()))
    assert not unused, (
        f"snapshot folders without a case (delete them in a reviewed change): {unused}"
    )


def normalized_artifacts(
    case: Case,
    result: RunResult,
    root: Path,
    ports: Ports,
    window: tuple[datetime, datetime] | None = None,
) -> dict[str, bytes]:
    ctx = NormContext(str(root), ports.port, ports.refused_port, window)
    out: dict[str, bytes] = {}
    for name, data in result.artifacts().items():
        json_document = (name == "stdout" and case.stdout_json) or (
            name.startswith("file-") and case.collect[name[5:]].endswith(".json")
        )
        out[name] = normalize(data, ctx, json_document=json_document)
    return out


def check_invariants(case: Case, result: RunResult) -> None:
    """Rules every case obeys, whatever its snapshot says.

    Every saved workflow file a run writes is validated, raw (before normalisation), against
    schemas/saved-workflow.schema.json, and every run record against
    schemas/run-record.schema.json.
    """
    if not case.allow_traceback:
        assert b"Traceback" not in result.stderr, f"{case.case_id}: traceback on stderr"
    if case.tty != "both":  # progress and colour need stdin and stdout on a terminal
        assert not _ANSI.search(result.stdout), f"{case.case_id}: ANSI escape on stdout"
        assert not _ANSI.search(result.stderr), f"{case.case_id}: ANSI escape on stderr"
    if result.exit_code == 2:
        assert result.stdout == b"", f"{case.case_id}: usage error printed on stdout"
    for name, data in result.written_workflows.items():
        errors = document_errors("saved-workflow.schema.json", json.loads(data))
        assert errors == [], f"{case.case_id}: saved file {name} breaks its schema: {errors}"
    for name, data in result.written_records.items():
        errors = document_errors("run-record.schema.json", json.loads(data))
        assert errors == [], f"{case.case_id}: run record {name} breaks its schema: {errors}"
    if case.stdout_json and result.stdout:
        assert result.stdout.count(b"\n{") == 0, f"{case.case_id}: more than one JSON document"
    assert_cli_output(case, result)  # schemas/cli-output.schema.json
    if case.min_duration_ms:
        check_min_durations(case, result)


def check_min_durations(case: Case, result: RunResult) -> None:
    """Nodes known to take at least N ms (case.toml `min_duration_ms`) show it, raw, in the
    JSON document's metrics and in every collected trace, and no node outlasts its run."""
    seen = 0
    if case.stdout_json:
        doc = json.loads(result.stdout.replace(b"\r\n", b"\n"))
        timings = doc["metrics"]["workflow"]["node_timings"]
        whole = (doc["duration_ms"], doc["metrics"]["workflow"]["duration_ms"])
        assert min(whole) >= max(case.min_duration_ms.values()), (
            f"{case.case_id}: the run's durations {whole} are shorter than a node known to "
            f"take {max(case.min_duration_ms.values())} ms"
        )
        for node, least in case.min_duration_ms.items():
            took = timings[node]
            assert least <= took <= doc["duration_ms"], (
                f"{case.case_id}: node {node} took {took} ms in the metrics; expected at least "
                f"{least} ms and at most the run's {doc['duration_ms']} ms"
            )
            seen += 1
    for key, data in result.files.items():
        trace = json.loads(data) if case.collect[key].endswith(".json") else None
        if not (isinstance(trace, dict) and isinstance(trace.get("nodes"), list)):
            continue
        assert trace["duration_ms"] >= max(case.min_duration_ms.values()), (
            f"{case.case_id}: trace {key} lasted {trace['duration_ms']} ms, shorter than a node"
        )
        for event in trace["nodes"]:
            least = case.min_duration_ms.get(event.get("node_id"))
            if least is not None:
                took = event["duration_ms"]
                assert least <= took <= trace["duration_ms"], (
                    f"{case.case_id}: node {event['node_id']} took {took} ms in trace {key}; "
                    f"expected at least {least} ms and at most the run's {trace['duration_ms']}"
                )
                seen += 1
    assert seen, f"{case.case_id}: min_duration_ms found no JSON metrics or trace to check"


def write_snapshots(folder: Path, produced: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.name not in produced:
            stale.unlink()
    for name, data in produced.items():
        (folder / name).write_bytes(data)


def compare_snapshots(
    case_id: str, folder: Path, produced: dict[str, bytes], write_new: bool = False
) -> None:
    """Fail on any difference; with `write_new`, leave the new bytes beside the snapshot
    (`<stream>.new`, `<stream>.gone`: tests/golden/review.py) and clear them when it passes."""
    recorded = (
        {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not is_pending(p)}
        if folder.is_dir()
        else {}
    )
    if recorded == produced:
        if write_new:
            clear_pending(folder)
        return
    if write_new:
        write_pending(folder, recorded, produced)
    review = " (pending: nox -s golden_review)" if write_new else ""
    assert folder.is_dir() and recorded, (
        f"{case_id}: no snapshots recorded{review}; record with "
        f"`pytest tests/golden --golden-record -k {case_id}`"
    )
    assert sorted(recorded) == sorted(produced), (
        f"{case_id}: snapshot files {sorted(recorded)} but the run produced "
        f"{sorted(produced)}{review}"
    )
    problems = [
        _diff(case_id, name, recorded[name], produced[name])
        for name in sorted(produced)
        if recorded[name] != produced[name]
    ]
    assert not problems, "\n\n".join(problems) + (f"\n{case_id}{review}" if review else "")


def _diff(case_id: str, name: str, expected: bytes, actual: bytes) -> str:
    lines = difflib.unified_diff(
        [repr(x) for x in expected.splitlines(keepends=True)],
        [repr(x) for x in actual.splitlines(keepends=True)],
        f"golden/snapshots/{case_id}/{name}",
        "this run",
        lineterm="",
    )
    return "\n".join(lines)
