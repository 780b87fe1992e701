"""`--trace`: a per-run trace file under $PFLOW_HOME/debug, never overwriting an older one."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

STAMP = r"\d{8}-\d{6}"


def trace_path(result, sandbox):
    """The path announced on stderr as the last line `Trace saved: <path>`."""
    match = re.search(r"^Trace saved: (.+)\n\Z", result.err, re.MULTILINE)
    assert match, result
    path = sandbox.root / match.group(1)  # absolute already; joining keeps it as it is
    assert path.parent == sandbox.debug_dir
    return path


def test_trace_file_for_a_successful_run(flows, invoke, sandbox):
    flows.write(
        "flow.json",
        flows.ir(flows.shell_node("first", "echo one"), flows.shell_node("second", "echo two")),
    )
    result = invoke(["run", "flow.json", "--trace"])
    assert result.code == 0
    assert result.stdout == b"two\n"
    path = trace_path(result, sandbox)
    assert re.fullmatch(rf"workflow-trace-flow-{STAMP}\.json", path.name)
    assert result.err == f"Trace saved: {path}\n"
    trace = json.loads(path.read_text(encoding="utf-8"))
    assert trace["final_status"] == "success"
    assert trace["nodes_executed"] == 2
    assert trace["nodes_failed"] == 0
    events = trace["nodes"]
    assert [(e["node_id"], e["node_type"], e["success"]) for e in events] == [
        ("first", "shell", True),
        ("second", "shell", True),
    ]
    assert events[0]["mutations"]["added"] == ["first"]
    assert events[1]["shared_after"]["second"]["stdout"] == "two\n"


def test_trace_file_for_a_failed_run(flows, invoke, sandbox):
    flows.shell("echo bad >&2; exit 2", node_id="boom")
    result = invoke(["run", "flow.json", "--trace"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith("Error: Node 'boom' (shell) failed")
    trace = json.loads(trace_path(result, sandbox).read_text())
    assert trace["final_status"] == "error"
    assert trace["nodes_failed"] == 1
    assert trace["nodes"][0]["success"] is False
    assert trace["nodes"][0]["error"] == "Command failed with exit code 2: bad"


def test_trace_file_for_a_node_exception(flows, invoke, sandbox):
    flows.shell("echo hi", params={"cwd": "/nonexistent/dir"})
    result = invoke(["run", "flow.json", "--trace"])
    assert result.code == 1
    trace = json.loads(trace_path(result, sandbox).read_text())
    assert trace["final_status"] == "failed"
    assert trace["nodes"][0]["success"] is False


def test_trace_name_of_a_saved_workflow(flows, invoke, sandbox):
    flows.shell("echo hi")
    assert invoke(["workflow", "save", "flow.json", "my-saved"]).code == 0
    result = invoke(["my-saved", "--trace"])
    assert result.code == 0
    assert re.fullmatch(rf"workflow-trace-my-saved-{STAMP}\.json", trace_path(result, sandbox).name)


def test_json_mode_keeps_stdout_one_document(flows, invoke, sandbox):
    flows.shell("echo hi")
    result = invoke(["run", "flow.json", "--trace", "--output-format", "json"])
    assert result.code == 0
    assert result.json()["success"] is True
    assert trace_path(result, sandbox).is_file()


def test_no_trace_without_the_flag(flows, invoke, sandbox):
    flows.shell("echo hi")
    result = invoke(["run", "flow.json"])
    assert (result.code, result.stderr) == (0, b"")
    assert not sandbox.debug_dir.exists()


def test_two_runs_give_two_files(flows, invoke, sandbox):
    flows.shell("echo hi")
    first = trace_path(invoke(["run", "flow.json", "--trace"]), sandbox)
    second = trace_path(invoke(["run", "flow.json", "--trace"]), sandbox)
    assert first != second
    assert sorted(sandbox.debug_dir.iterdir()) == sorted([first, second])
    ids = {json.loads(p.read_text())["execution_id"] for p in (first, second)}
    assert len(ids) == 2


def test_an_earlier_trace_of_the_same_second_is_never_overwritten(flows, invoke, sandbox):
    flows.shell("echo hi")
    sandbox.debug_dir.mkdir(parents=True)
    now = datetime.now(UTC)
    earlier = {}
    # Occupy every name the run could pick in the next minute.
    for offset in range(-2, 60):
        stamp = (now + timedelta(seconds=offset)).strftime("%Y%m%d-%H%M%S")
        path = sandbox.debug_dir / f"workflow-trace-flow-{stamp}.json"
        path.write_text(f"earlier {offset}\n")
        earlier[path] = path.read_bytes()
    result = invoke(["run", "flow.json", "--trace"])
    assert result.code == 0
    new = trace_path(result, sandbox)
    assert new not in earlier
    assert re.fullmatch(rf"workflow-trace-flow-{STAMP}-2\.json", new.name)
    assert json.loads(new.read_text())["final_status"] == "success"
    for path, content in earlier.items():
        assert path.read_bytes() == content


def test_trace_path_printed_by_the_console_script(flows, run_pflow, sandbox):
    flows.shell("echo hi")
    result = run_pflow(["flow.json", "--trace"])
    assert result.code == 0
    assert result.stdout == b"hi\n"
    assert trace_path(result, sandbox).is_file()
