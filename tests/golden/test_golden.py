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

from pflow.runtime.ir_schema import document_errors

_ANSI = re.compile(rb"\x1b\[")


@pytest.mark.parametrize("case_id", case_ids())
def test_golden_case(
    case_id: str,
    tmp_path: Path,
    pflow_bin: Path,
    golden_ports: Ports,
    record_mode: bool,
    hash_seed: str,
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
    compare_snapshots(case_id, folder, produced)


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
    schemas/saved-workflow.schema.json.
    """
    if not case.allow_traceback:
        assert b"Traceback" not in result.stderr, f"{case.case_id}: traceback on stderr"
    if not case.tty:
        assert not _ANSI.search(result.stdout), f"{case.case_id}: ANSI escape on stdout"
        assert not _ANSI.search(result.stderr), f"{case.case_id}: ANSI escape on stderr"
    if result.exit_code == 2:
        assert result.stdout == b"", f"{case.case_id}: usage error printed on stdout"
    for name, data in result.written_workflows.items():
        errors = document_errors("saved-workflow.schema.json", json.loads(data))
        assert errors == [], f"{case.case_id}: saved file {name} breaks its schema: {errors}"
    if case.stdout_json and result.stdout:
        assert result.stdout.count(b"\n{") == 0, f"{case.case_id}: more than one JSON document"
    assert_cli_output(case, result)  # schemas/cli-output.schema.json


def write_snapshots(folder: Path, produced: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.name not in produced:
            stale.unlink()
    for name, data in produced.items():
        (folder / name).write_bytes(data)


def compare_snapshots(case_id: str, folder: Path, produced: dict[str, bytes]) -> None:
    assert folder.is_dir(), f"{case_id}: no snapshots recorded (run `nox -s golden_record`)"
    recorded = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert sorted(recorded) == sorted(produced), (
        f"{case_id}: snapshot files {sorted(recorded)} but the run produced {sorted(produced)}"
    )
    problems = [
        _diff(case_id, name, recorded[name], produced[name])
        for name in sorted(produced)
        if recorded[name] != produced[name]
    ]
    assert not problems, "\n\n".join(problems)


def _diff(case_id: str, name: str, expected: bytes, actual: bytes) -> str:
    lines = difflib.unified_diff(
        [repr(x) for x in expected.splitlines(keepends=True)],
        [repr(x) for x in actual.splitlines(keepends=True)],
        f"golden/snapshots/{case_id}/{name}",
        "this run",
        lineterm="",
    )
    return "\n".join(lines)
