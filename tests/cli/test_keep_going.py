"""`pflow run --keep-going`: run every node that does not need a failed node's outputs.

Text mode lists every failure and skipped node in one error block and exits 1; JSON mode adds
a top-level `errors` array (right after `error`) to the one failure document. Without the flag
nothing changes. The option is hidden from `pflow run --help` (whose bytes are recorded in the
golden corpus) and documented in docs/cli.md instead.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import TIMEOUT, pflow_command
from .test_tty import OK, run_tty

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
HINT = "Hint: Nodes that did not depend on a failed node ran; fix the failures listed above\n"
FAILURE_KEYS = [
    "success",
    "error",
    "errors",
    "workflow",
    "duration_ms",
    "total_cost_usd",
    "nodes_executed",
    "metrics",
]


def one_document(result: Any) -> dict[str, Any]:
    """stdout holds exactly one JSON document in pflow's layout."""
    document = json.loads(result.out)  # raises "Extra data" for a second document
    assert isinstance(document, dict)
    assert result.out == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return document


def failing(node_id: str, code: int, text: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "shell",
        "params": {"command": f"echo '{text}' >&2; exit {code}"},
    }


def reading(node_id: str, source: str, marker: str) -> dict[str, Any]:
    """A node that needs `source`'s stdout and would leave `marker` behind if it ran."""
    return {
        "id": node_id,
        "type": "shell",
        "params": {
            "command": f'touch {marker}; echo "$IN"',
            "env": {"IN": f"${{{source}.stdout}}"},
        },
    }


@pytest.fixture
def build(flows: Any) -> Path:
    """fetch fails, parse and report need it, lint runs, tests fails, docs runs."""
    return flows.write(
        "build.json",
        flows.ir(
            failing("fetch", 7, "network down"),
            reading("parse", "fetch", "parse.ran"),
            reading("report", "parse", "report.ran"),
            flows.shell_node("lint", "touch lint.ran; echo lint ok"),
            failing("tests", 1, "2 failed"),
            flows.shell_node("docs", "touch docs.ran; echo docs ok"),
        ),
    )


BUILD_TEXT = (
    "Error: 2 nodes failed and 2 were skipped\n"
    "  - Node 'fetch' (shell) failed: Command failed with exit code 7: network down\n"
    "  - Node 'parse' (shell) was skipped: it needs the outputs of 'fetch', which did not run "
    "successfully\n"
    "  - Node 'report' (shell) was skipped: it needs the outputs of 'parse', which did not run "
    "successfully\n"
    "  - Node 'tests' (shell) failed: Command failed with exit code 1: 2 failed\n" + HINT
)
ABORT_TEXT = (
    "Error: Node 'fetch' (shell) failed: Command failed with exit code 7: network down\n"
    "  Node: fetch (shell)\n"
    'Hint: Add an edge from \'fetch\' with "action": "error" to handle this failure\n'
)


# -- text mode --------------------------------------------------------------------------------


def test_text_mode_lists_every_failure_and_skipped_node(build: Path, invoke: Any, sandbox: Any):
    result = invoke(["run", "--keep-going", "build.json"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err == BUILD_TEXT
    ran = {p.name for p in sandbox.workdir.glob("*.ran")}
    assert ran == {"lint.ran", "docs.ran"}  # independent nodes ran; dependents did not


def test_without_the_flag_text_mode_is_the_abort_report(build: Path, invoke: Any, sandbox: Any):
    result = invoke(["run", "build.json"])
    assert (result.code, result.stdout, result.err) == (1, b"", ABORT_TEXT)
    assert list(sandbox.workdir.glob("*.ran")) == []


def test_text_mode_exception_is_listed_with_its_message(flows: Any, invoke: Any, sandbox: Any):
    flows.write(
        "flow.json",
        flows.ir(
            flows.shell_node("cd", "pwd", cwd="missing-dir"),
            reading("after", "cd", "after.ran"),
            flows.shell_node("last", "echo last"),
        ),
    )
    result = invoke(["run", "flow.json", "--keep-going"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err == (
        "Error: 1 node failed and 1 was skipped\n"
        f"  - Node 'cd' (shell): working directory '{sandbox.workdir / 'missing-dir'}' "
        "does not exist\n"
        "  - Node 'after' (shell) was skipped: it needs the outputs of 'cd', which did not run "
        "successfully\n" + HINT
    )


def test_a_single_failure_is_reported_as_one_node_failed(flows: Any, invoke: Any):
    flows.write("flow.json", flows.ir(failing("only", 2, "bad"), flows.shell_node("b", "true")))
    result = invoke(["run", "flow.json", "--keep-going"])
    assert result.code == 1
    assert result.err == (
        "Error: 1 node failed\n"
        "  - Node 'only' (shell) failed: Command failed with exit code 2: bad\n" + HINT
    )


# -- JSON mode --------------------------------------------------------------------------------


def test_json_mode_adds_an_errors_array_after_error(build: Path, invoke: Any):
    result = invoke(["run", "build.json", "--keep-going", "--output-format", "json"])
    assert result.code == 1
    assert result.stderr == b""
    document = one_document(result)
    assert list(document) == FAILURE_KEYS
    assert document["success"] is False
    assert document["error"] == {
        "type": "WorkflowFailedError",
        "message": "2 nodes failed and 2 were skipped",
        "details": "\n".join(line[2:] for line in BUILD_TEXT.splitlines()[1:-1]),
        "hint": HINT.removeprefix("Hint: ").rstrip("\n"),
    }
    errors = document["errors"]
    assert [(e["node_id"], e["category"], e.get("waiting_for")) for e in errors] == [
        ("fetch", "execution_failure", None),
        ("parse", "skipped", "fetch"),
        ("report", "skipped", "parse"),
        ("tests", "execution_failure", None),
    ]
    assert errors[0] == {
        "message": "Node 'fetch' (shell) failed: Command failed with exit code 7: network down",
        "category": "execution_failure",
        "source": "runtime",
        "fixable": True,
        "node_id": "fetch",
        "node_type": "shell",
        "hint": 'Add an edge from \'fetch\' with "action": "error" to handle this failure',
        "action": "error",
    }
    assert errors[1] == {
        "message": "Node 'parse' (shell) was skipped: it needs the outputs of 'fetch', which "
        "did not run successfully",
        "category": "skipped",
        "source": "runtime",
        "node_id": "parse",
        "node_type": "shell",
        "waiting_for": "fetch",
        "fixable": True,
    }
    assert document["nodes_executed"] == 4  # fetch, lint, tests, docs
    assert list(document["metrics"]["workflow"]["node_timings"]) == [
        "fetch",
        "lint",
        "tests",
        "docs",
    ]


def test_without_the_flag_the_json_document_has_no_errors_key(build: Path, invoke: Any):
    result = invoke(["run", "build.json", "--output-format", "json"])
    assert result.code == 1
    document = one_document(result)
    assert "errors" not in document
    assert list(document) == [k for k in FAILURE_KEYS if k != "errors"]
    assert document["error"]["message"] == (
        "Node 'fetch' (shell) failed: Command failed with exit code 7: network down"
    )
    assert document["nodes_executed"] == 1


def test_json_mode_validation_error_keeps_its_exit_code(flows: Any, invoke: Any):
    flows.shell("echo ${nope}")
    result = invoke(["run", "flow.json", "--keep-going", "--output-format", "json"])
    assert result.code == 3
    document = one_document(result)
    assert document["error"]["type"] == "TemplateValidationError"
    assert [(e["category"], e["exception_type"]) for e in document["errors"]] == [
        ("validation", "TemplateValidationError")
    ]
    plain = one_document(invoke(["run", "flow.json", "--output-format", "json"]))
    assert document["error"] == plain["error"]


def test_json_mode_file_not_found_still_one_document(invoke: Any):
    result = invoke(["run", "nowhere.json", "--keep-going", "--output-format", "json"])
    assert result.code == 4
    document = one_document(result)
    assert document["error"]["type"] == "WorkflowNotFoundError"
    assert [e["exception_type"] for e in document["errors"]] == ["WorkflowNotFoundError"]


# -- runs without failures are unchanged ------------------------------------------------------


def _without_timings(document: dict[str, Any]) -> dict[str, Any]:
    document = dict(document)
    document.pop("duration_ms")
    workflow_metrics = dict(document["metrics"]["workflow"])
    workflow_metrics.pop("duration_ms")
    workflow_metrics["node_timings"] = list(workflow_metrics["node_timings"])
    document["metrics"] = {**document["metrics"], "workflow": workflow_metrics}
    return document


@pytest.fixture
def handled(flows: Any) -> Path:
    return flows.write(
        "handled.json",
        flows.ir(
            failing("fetch", 2, "offline"),
            flows.shell_node(
                "fallback", 'echo "cached copy (exit $C)"', env={"C": "${fetch.exit_code}"}
            ),
            edges=[{"from": "fetch", "to": "fallback", "action": "error"}],
        ),
    )


@pytest.mark.parametrize("name", ["handled.json", "ok.json"])
def test_a_run_without_unhandled_failures_prints_the_same(
    name: str, handled: Path, flows: Any, invoke: Any
):
    flows.write(
        "ok.json",
        flows.ir(
            flows.shell_node("a", "echo hello"),
            flows.shell_node("b", 'echo "$X!"', env={"X": "${a.stdout}"}),
        ),
    )
    plain = invoke(["run", name])
    keep = invoke(["run", name, "--keep-going"])
    assert plain.code == keep.code == 0
    assert (keep.stdout, keep.stderr) == (plain.stdout, plain.stderr)
    assert keep.out in {"cached copy (exit 2)\n", "hello\n!\n"}
    plain_json = one_document(invoke(["run", name, "--output-format", "json"]))
    keep_json = one_document(invoke(["run", name, "--output-format", "json", "--keep-going"]))
    assert _without_timings(keep_json) == _without_timings(plain_json)
    assert "errors" not in keep_json


# -- where the flag goes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--keep-going", "build.json"],
        ["run", "build.json", "--keep-going"],
        ["run", "-p", "--keep-going", "build.json", "unused=1"],
        ["build.json", "--keep-going"],
        ["--keep-going", "build.json"],
    ],
    ids=["before", "after", "with-options", "bare-after", "bare-before"],
)
def test_the_flag_is_accepted_before_or_after_the_workflow(
    args: list[str], build: Path, invoke: Any
):
    result = invoke(args)
    assert result.code == 1
    assert result.err == BUILD_TEXT


def test_the_flag_takes_no_value(build: Path, invoke: Any):
    result = invoke(["run", "build.json", "--keep-going=yes"])
    assert result.code == 2
    assert result.stdout == b""
    assert "--keep-going" in result.err


# -- help and docs ----------------------------------------------------------------------------


def test_hidden_from_run_help(invoke: Any):
    result = invoke(["run", "--help"])
    assert result.code == 0
    assert "--trace" in result.out  # the run help, with its visible options
    assert "--keep-going" not in result.out


def test_documented_in_docs_cli_md():
    text = CLI_DOC.read_text(encoding="utf-8")
    assert "--keep-going" in text
    section = text.split("### `--keep-going`", 1)[1].split("\n## ", 1)[0]
    assert "hidden" in section
    assert '"errors"' in section  # the JSON example shows the errors array
    assert "skipped (needs '" in section  # the progress line
    assert "exit code 1" in section.lower() or "exits 1" in section


# -- saved workflows --------------------------------------------------------------------------


def test_a_saved_workflow_records_every_error(build: Path, invoke: Any, sandbox: Any):
    assert invoke(["workflow", "save", "build.json", "build"]).code == 0
    result = invoke(["run", "build", "--keep-going", "--output-format", "json"])
    assert result.code == 1
    document = one_document(result)
    assert document["workflow"] == {"action": "reused", "name": "build"}
    stored = json.loads((sandbox.workflows_dir / "build.json").read_text(encoding="utf-8"))
    metadata = stored["rich_metadata"]
    assert metadata["last_execution_success"] is False
    assert metadata["last_execution_errors"] == document["errors"]


# -- terminal progress ------------------------------------------------------------------------


def test_tty_progress_shows_skipped_lines(build: Path, sandbox: Any):
    result = run_tty(["run", "build.json", "--keep-going"], sandbox.workdir)
    assert result.code == 1
    assert result.tty == b""
    assert result.progress == (
        "Executing workflow (6 nodes):\n"
        "  fetch... ✗ Command failed with exit code 7: network down\n"
        "  parse... skipped (needs 'fetch')\n"
        "  report... skipped (needs 'parse')\n"
        f"  lint...{OK}"
        "  tests... ✗ Command failed with exit code 1: 2 failed\n"
        f"  docs...{OK}" + BUILD_TEXT
    )


def test_tty_progress_without_the_flag_stops_at_the_failure(build: Path, sandbox: Any):
    result = run_tty(["run", "build.json"], sandbox.workdir)
    assert result.code == 1
    assert "skipped" not in result.progress
    assert result.progress == (
        "Executing workflow (6 nodes):\n"
        "  fetch... ✗ Command failed with exit code 7: network down\n" + ABORT_TEXT
    )


# -- Ctrl-C -----------------------------------------------------------------------------------


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_in_json_mode_lists_the_failures_before_it(flows: Any, sandbox: Any):
    pid_file = sandbox.workdir / "sleep.pid"
    flows.write(
        "flow.json",
        flows.ir(
            failing("early", 5, "early failure"),
            flows.shell_node(
                "slow", f"echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file} && exec sleep 60"
            ),
        ),
    )
    proc = subprocess.Popen(
        [*pflow_command(), "run", "flow.json", "--keep-going", "--output-format", "json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=sandbox.workdir,
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not pid_file.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sleep never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert b"Traceback" not in stderr
    document = json.loads(stdout)
    assert document["error"]["type"] == "Interrupted"
    assert [(e["category"], e.get("node_id")) for e in document["errors"]] == [
        ("execution_failure", "early"),
        ("exception", None),
    ]
    assert document["errors"][1]["message"] == "Interrupted by the user (Ctrl-C)"
