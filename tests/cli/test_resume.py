"""Run records and `pflow resume`: a failed run continues where it stopped, and no finished
step runs twice (also after SIGKILL)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pflow.core.run_records import keep_count
from pflow.core.run_store import RunStore

from .conftest import TIMEOUT, Flows, Sandbox, pflow_command


def counted_flow(flows: Flows, sandbox: Sandbox, name: str, *nodes: tuple[str, str]) -> Path:
    """A chain of shell nodes (id, command): node i first appends a line to counter file c<i>
    of the working directory, then runs its command."""
    work = sandbox.workdir
    return flows.write(
        name,
        flows.ir(
            *(
                flows.shell_node(node_id, f"echo x >> {work}/c{i}; {command}")
                for i, (node_id, command) in enumerate(nodes, 1)
            )
        ),
    )


def counting_flow(flows: Flows, sandbox: Sandbox, *, second: str = "two") -> Path:
    """Four counted nodes; the third fails while `flag` exists. The second reads the first's
    output."""
    work = sandbox.workdir
    return counted_flow(
        flows,
        sandbox,
        "count.json",
        ("n1", "echo one"),
        ("n2", f"echo {second}-${{n1.stdout}}"),
        ("n3", f"test ! -e {work}/flag"),
        ("n4", "echo four"),
    )


def counts(sandbox: Sandbox) -> list[int]:
    found = []
    for n in range(1, 5):
        path = sandbox.workdir / f"c{n}"
        found.append(len(path.read_text().splitlines()) if path.exists() else 0)
    return found


def run_ids(sandbox: Sandbox) -> list[str]:
    return RunStore(sandbox.pflow_home / "runs").ids()


def test_resume_reuses_finished_steps_and_reruns_what_changed(
    flows: Flows, sandbox: Sandbox, invoke: Any
) -> None:
    counting_flow(flows, sandbox)
    (sandbox.workdir / "flag").touch()
    failed = invoke(["run", "count.json"])
    assert failed.code == 1
    assert counts(sandbox) == [1, 1, 1, 0]
    (first,) = run_ids(sandbox)

    (sandbox.workdir / "flag").unlink()
    resumed = invoke(["resume", "--output-format", "json"])
    assert resumed.code == 0, resumed
    assert counts(sandbox) == [1, 1, 2, 1]  # n1 and n2 were not executed again
    assert resumed.json()["resume"]["cached_nodes"] == ["n1", "n2"]
    assert resumed.json()["resume"]["resumed_from"] == first
    assert resumed.json()["result"] == {"stdout": "four\n"}

    counting_flow(flows, sandbox, second="TWO")  # node 2's command changes
    again = invoke(["resume", first, "--output-format", "json"])
    assert again.code == 0, again
    assert again.json()["resume"]["cached_nodes"] == ["n1"]
    assert counts(sandbox) == [1, 2, 3, 2]  # n2 and everything after it ran again
    record = RunStore(sandbox.pflow_home / "runs").load(again.json()["resume"]["run_id"])
    assert record["resumed_from"] == first
    assert [(n["node_id"], n["status"], n["cached"]) for n in record["nodes"]] == [
        ("n1", "completed", True),
        ("n2", "completed", False),
        ("n3", "completed", False),
        ("n4", "completed", False),
    ]


def test_a_changed_input_reruns_the_nodes_that_read_it(
    flows: Flows, sandbox: Sandbox, invoke: Any
) -> None:
    work = sandbox.workdir
    counted_flow(
        flows,
        sandbox,
        "p.json",
        ("a", "echo ${who}"),
        ("b", "echo fixed"),
        ("c", f"test ! -e {work}/flag"),
    )
    (work / "flag").touch()
    assert invoke(["run", "p.json", "who=ada"]).code == 1
    (work / "flag").unlink()
    result = invoke(["resume", "who=bob", "--output-format", "json"])
    assert result.code == 0, result
    assert result.json()["resume"]["cached_nodes"] == ["b"]  # a's param changed, b's did not
    assert counts(sandbox)[:3] == [2, 1, 2]


def test_from_forces_that_node_and_every_later_one(
    flows: Flows, sandbox: Sandbox, invoke: Any
) -> None:
    counting_flow(flows, sandbox)
    (sandbox.workdir / "flag").touch()
    assert invoke(["run", "count.json"]).code == 1
    (sandbox.workdir / "flag").unlink()
    result = invoke(["resume", "--from", "n2", "--output-format", "json"])
    assert result.code == 0, result
    assert result.json()["resume"]["cached_nodes"] == ["n1"]
    assert counts(sandbox) == [1, 2, 2, 1]
    first = RunStore(sandbox.pflow_home / "runs").ids()[-1]
    unknown = invoke(["resume", first, "--from", "nope"])
    assert unknown.code == 3
    assert "--from names no node of the workflow: 'nope'" in unknown.err


def test_tty_progress_marks_cached_nodes(flows: Flows, sandbox: Sandbox) -> None:
    from pflow.core.output_controller import _render

    assert _render("n1", "node_start", None, 0, None) + _render(
        "n1", "node_cached", None, 0, None
    ) == ("  n1... ↻ cached\n")


def test_sigkill_during_a_node_keeps_the_finished_ones(
    flows: Flows, sandbox: Sandbox, invoke: Any
) -> None:
    work = sandbox.workdir
    counted_flow(
        flows,
        sandbox,
        "kill.json",
        ("n1", "true"),
        ("n2", "true"),
        ("n3", f"test -e {work}/go || {{ touch {work}/ready; sleep 60; }}"),
        ("n4", "true"),
    )
    proc = subprocess.Popen(
        [*pflow_command(), "run", "kill.json"],
        cwd=work,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while not (work / "ready").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "node 3 never started"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # pflow and the sleeping command, no cleanup
    proc.wait()
    (run_id,) = run_ids(sandbox)
    record = RunStore(sandbox.pflow_home / "runs").load(run_id)
    assert record["status"] == "incomplete"  # rebuilt from the journal
    assert [n["status"] for n in record["nodes"]] == [
        "completed",
        "completed",
        "not_run",
        "not_run",
    ]

    (work / "go").touch()
    result = invoke(["resume", "--output-format", "json"])
    assert result.code == 0, result
    assert result.json()["resume"]["cached_nodes"] == ["n1", "n2"]
    assert counts(sandbox) == [1, 1, 2, 1]


def test_records_are_private_and_pruned(
    flows: Flows, sandbox: Sandbox, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    flows.shell("echo hi")
    monkeypatch.setenv("PFLOW_RUNS_KEEP", "2")
    assert keep_count() == 2
    for _ in range(3):
        assert invoke(["run", "flow.json"]).code == 0
    runs = sandbox.pflow_home / "runs"
    ids = run_ids(sandbox)
    assert len(ids) == 2
    assert stat.S_IMODE(runs.stat().st_mode) == 0o700
    for run_id in ids:
        assert stat.S_IMODE((runs / run_id).stat().st_mode) == 0o700
        for name in ("journal.jsonl", "record.json"):
            assert stat.S_IMODE((runs / run_id / name).stat().st_mode) == 0o600


def test_no_runs_turns_recording_off(
    flows: Flows, sandbox: Sandbox, invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    flows.shell("echo hi")
    monkeypatch.setenv("PFLOW_NO_RUNS", "1")
    assert invoke(["run", "flow.json"]).code == 0
    assert not (sandbox.pflow_home / "runs").exists()


def test_unwritable_records_change_nothing_but_one_warning(
    flows: Flows, sandbox: Sandbox, invoke: Any
) -> None:
    flows.shell("echo hi")
    baseline = invoke(["run", "flow.json"])
    sandbox.pflow_home.mkdir(exist_ok=True)
    runs = sandbox.pflow_home / "runs"
    for child in runs.iterdir():
        for f in child.iterdir():
            f.unlink()
        child.rmdir()
    runs.rmdir()
    runs.write_text("not a directory")  # stops root too
    result = invoke(["run", "flow.json"])
    assert (result.code, result.stdout) == (baseline.code, baseline.stdout) == (0, b"hi\n")
    (line,) = result.err.splitlines()
    assert line.startswith("Warning: could not write the run record in ")


def test_resume_errors(flows: Flows, sandbox: Sandbox, invoke: Any) -> None:
    nothing = invoke(["resume"])
    assert nothing.code == 4
    assert "No failed run to resume in" in nothing.err
    counting_flow(flows, sandbox)
    (sandbox.workdir / "flag").touch()
    assert invoke(["run", "count.json"]).code == 1
    assert invoke(["run", "count.json"]).code == 1
    second, first = [r["run_id"] for r in RunStore(sandbox.pflow_home / "runs").records()]
    ambiguous = invoke(["resume", "20"])
    assert ambiguous.code == 2
    assert "is ambiguous: 2 runs match" in ambiguous.err
    assert invoke(["resume", "19990101"]).code == 4

    record = sandbox.pflow_home / "runs" / first / "record.json"
    record.write_text("{broken")
    corrupt = invoke(["resume", first])
    assert corrupt.code == 3
    assert f"The record of run '{first}' cannot be read" in corrupt.err

    (sandbox.workdir / "count.json").unlink()
    gone = invoke(["resume", second])
    assert gone.code == 4
    assert "not found" in gone.err.lower()


def test_a_second_resume_of_the_same_run_is_refused(
    flows: Flows, sandbox: Sandbox, invoke: Any
) -> None:
    counting_flow(flows, sandbox)
    (sandbox.workdir / "flag").touch()
    assert invoke(["run", "count.json"]).code == 1
    (run_id,) = run_ids(sandbox)
    lock = sandbox.pflow_home / "runs" / run_id / "resume.lock"
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a resume in progress holds it
        refused = invoke(["resume", run_id])
    finally:
        os.close(fd)
    assert refused.code == 1
    assert f"Run '{run_id}' is being resumed by another pflow process" in refused.err
    assert counts(sandbox) == [1, 1, 1, 0]  # nothing ran


def test_redacted_parameters_must_be_given_again(
    flows: Flows, sandbox: Sandbox, invoke: Any
) -> None:
    work = sandbox.workdir
    flows.write(
        "s.json",
        flows.ir(
            flows.shell_node("a", "echo ${api_token}"),
            flows.shell_node("b", f"test ! -e {work}/flag"),
        ),
    )
    (work / "flag").touch()
    assert invoke(["run", "s.json", "api_token=s3cret"]).code == 1
    (run_id,) = run_ids(sandbox)
    text = (sandbox.pflow_home / "runs" / run_id / "record.json").read_text()
    assert json.loads(text)["params"] == {"api_token": "<redacted>"}
    (work / "flag").unlink()
    missing = invoke(["resume"])
    assert missing.code == 3
    assert "api_token=..." in missing.err
    given = invoke(["resume", "api_token=s3cret", "--output-format", "json"])
    assert given.code == 0, given
    assert given.json()["resume"]["cached_nodes"] == ["a"]


def test_runs_list_and_show(flows: Flows, sandbox: Sandbox, invoke: Any) -> None:
    counting_flow(flows, sandbox)
    (sandbox.workdir / "flag").touch()
    assert invoke(["run", "count.json"]).code == 1
    (run_id,) = run_ids(sandbox)
    listed = invoke(["runs", "list", "--json"]).json()["runs"]
    assert [(r["run_id"], r["status"], r["nodes_completed"], r["nodes_total"]) for r in listed] == [
        (run_id, "failed", 2, 4)
    ]
    assert invoke(["runs", "list", "--failed", "--workflow", "count.json"]).out.count(run_id) == 1
    assert "No matching runs." in invoke(["runs", "list", "--workflow", "other"]).out
    shown = invoke(["runs", "show", run_id[:15]])
    assert shown.code == 0
    lines = shown.out.splitlines()
    assert lines[0] == f"Run:       {run_id}"
    assert [line.split()[:3] for line in lines if line.startswith("n")] == [
        ["n1", "shell", "completed"],
        ["n2", "shell", "completed"],
        ["n3", "shell", "failed"],
        ["n4", "shell", "not_run"],
    ]
