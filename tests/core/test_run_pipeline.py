"""RunPipeline: the whole run of `pflow run` behind one call, for any front end."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from service_support import run_doc_example, shell, workflow

from pflow.core.output_controller import OutputController
from pflow.core.run_pipeline import RunPipeline, RunRequest
from pflow.core.workflow_executor_service import WorkflowInterrupted
from pflow.core.workflow_manager import WorkflowManager
from pflow.foundation.exceptions import (
    ParameterError,
    SchemaValidationError,
    TemplateValidationError,
    WorkflowFailedError,
    WorkflowNotFoundError,
)

SERVICE_DOC = Path(__file__).resolve().parents[2] / "docs" / "service-api.md"


def _write(path: Path, ir: dict[str, Any]) -> str:
    path.write_text(json.dumps(ir), encoding="utf-8")
    return str(path)


class Recorder(OutputController):
    def __init__(self) -> None:
        super().__init__(print_flag=False, output_format="text")
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@pytest.fixture
def manager(tmp_path: Path) -> WorkflowManager:
    return WorkflowManager(tmp_path / "workflows")


def _greet() -> dict[str, Any]:
    return workflow(
        shell("greet", "echo Hello, ${name}!"),
        inputs={"name": {"type": "string", "required": True}},
    )


def test_a_file_runs_with_text_parameters_converted(tmp_path: Path, manager: WorkflowManager):
    ir = workflow(shell("n", "echo $((${count} + 1))"), inputs={"count": {"type": "number"}})
    path = _write(tmp_path / "count.json", ir)
    outcome = RunPipeline(manager=manager).run(RunRequest(path, {"count": "41"}, use_stdin=False))
    assert outcome.success and outcome.error is None
    assert outcome.params == {"count": 41}
    assert outcome.shared_after["n"]["stdout"] == "42\n"
    assert outcome.source is not None and outcome.source.kind == "file"
    assert outcome.workflow_info == {"action": "unsaved", "name": path}


def test_typed_parameters_are_not_converted_again(tmp_path: Path, manager: WorkflowManager):
    ir = workflow(shell("n", "echo ${v}"), inputs={"v": {"type": "string"}})
    path = _write(tmp_path / "v.json", ir)
    request = RunRequest(path, {"v": "007"}, typed_params=True, use_stdin=False)
    assert RunPipeline(manager=manager).run(request).shared_after["n"]["stdout"] == "007\n"


def test_a_failed_start_is_an_outcome_not_an_exception(tmp_path: Path, manager: WorkflowManager):
    pipeline = RunPipeline(manager=manager)
    missing = pipeline.run(RunRequest(str(tmp_path / "nope.json")))
    assert isinstance(missing.error, WorkflowNotFoundError) and missing.result is None
    bad = _write(tmp_path / "bad.json", {"ir_version": "0.1.0", "nodes": []})
    assert isinstance(pipeline.run(RunRequest(bad)).error, SchemaValidationError)
    good = _write(tmp_path / "greet.json", _greet())
    outcome = pipeline.run(RunRequest(good, {}))
    assert isinstance(outcome.error, ParameterError)
    assert not outcome.success


def test_a_saved_workflow_with_bad_parameters_gets_a_history_entry(manager: WorkflowManager):
    manager.save("greet", _greet())
    outcome = RunPipeline(manager=manager).run(RunRequest("greet", {"nope": "1"}))
    assert isinstance(outcome.error, ParameterError)
    assert outcome.not_recorded is None
    saved = manager.load("greet")["rich_metadata"]
    assert saved["execution_count"] == 1
    assert saved["last_execution_success"] is False
    assert saved["last_execution_params"] == {"nope": "1"}


def test_a_saved_run_is_recorded_and_named(manager: WorkflowManager):
    manager.save("greet", _greet())
    outcome = RunPipeline(manager=manager).run(RunRequest("greet", {"name": "Ada"}))
    assert outcome.success
    assert outcome.workflow_info == {"action": "reused", "name": "greet"}
    assert manager.load("greet")["rich_metadata"]["last_execution_success"] is True


def test_an_error_action_names_the_failure_for_the_front_end(tmp_path: Path):
    ir = workflow(shell("bad", "exit 3"))
    path = _write(tmp_path / "fail.json", ir)
    outcome = RunPipeline(manager=WorkflowManager(tmp_path / "w")).run(
        RunRequest(path, use_stdin=False)
    )
    assert outcome.result is not None and not outcome.result.success
    assert isinstance(outcome.error, WorkflowFailedError)
    assert outcome.error.node_id == "bad"
    assert outcome.errors is None  # only --keep-going runs list every failure


def test_keep_going_lists_every_failure(tmp_path: Path):
    ir = workflow(shell("a", "exit 1"), shell("b", "exit 2"))
    path = _write(tmp_path / "two.json", ir)
    request = RunRequest(path, keep_going=True, use_stdin=False)
    outcome = RunPipeline(manager=WorkflowManager(tmp_path / "w")).run(request)
    assert isinstance(outcome.error, WorkflowFailedError)
    assert outcome.errors is not None and [e["node_id"] for e in outcome.errors] == ["a", "b"]


def test_warnings_reach_the_display_and_the_outcome(tmp_path: Path):
    ir = workflow(shell("a", "echo hi"), inputs={"unused": {"type": "string", "default": ""}})
    path = _write(tmp_path / "w.json", ir)
    display = Recorder()
    pipeline = RunPipeline(manager=WorkflowManager(tmp_path / "w"), output=display)
    outcome = pipeline.run(RunRequest(path, use_stdin=False))
    assert outcome.warnings == ["Declared input 'unused' is never used"]
    assert display.warnings == outcome.warnings


def test_stdin_is_read_only_when_the_workflow_uses_it(tmp_path: Path):
    uses = _write(tmp_path / "uses.json", workflow(shell("a", "echo ${stdin}", stdin="")))
    ignores = _write(tmp_path / "ignores.json", workflow(shell("a", "echo x", stdin="")))
    pipeline = RunPipeline(manager=WorkflowManager(tmp_path / "w"))
    stream = io.StringIO("piped\n")
    assert pipeline.run(RunRequest(uses, stdin=stream)).shared_after["a"]["stdout"] == "piped\n"
    untouched = io.StringIO("left alone")
    assert pipeline.run(RunRequest(ignores, stdin=untouched)).success
    assert untouched.read() == "left alone"


def test_verbose_steps_and_trace(tmp_path: Path):
    ir = workflow(shell("a", "echo ${who}"), inputs={"who": {"type": "string"}})
    path = _write(tmp_path / "steps.json", ir)
    steps: list[str] = []
    pipeline = RunPipeline(
        manager=WorkflowManager(tmp_path / "w"),
        on_step=steps.append,
        trace_dir=lambda: tmp_path / "debug",
    )
    outcome = pipeline.run(RunRequest(path, {"who": "x"}, trace=True, use_stdin=False))
    assert steps == [
        f"workflow '{path}' from {Path(path).resolve()}",
        'parameters: {"who": "x"}',
        "workflow has 1 node(s)",
    ]
    assert outcome.trace_path is not None and outcome.trace_path.parent == tmp_path / "debug"
    assert outcome.trace_path.name.startswith("workflow-trace-steps-")
    assert json.loads(outcome.trace_path.read_text(encoding="utf-8"))["final_status"] == "success"


def test_ctrl_c_comes_back_as_the_outcome_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _write(tmp_path / "i.json", workflow(shell("a", "echo x")))

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("pflow.runtime.flow.WorkflowFlow.run", interrupted)
    outcome = RunPipeline(manager=WorkflowManager(tmp_path / "w")).run(
        RunRequest(path, use_stdin=False)
    )
    assert outcome.interrupted and isinstance(outcome.error, WorkflowInterrupted)
    assert not outcome.success


def test_check_runs_nothing(tmp_path: Path):
    marker = tmp_path / "made"
    ir = workflow(shell("a", f"touch {marker}"), inputs={"n": {"type": "number"}})
    path = _write(tmp_path / "c.json", ir)
    pipeline = RunPipeline(manager=WorkflowManager(tmp_path / "w"))
    assert pipeline.check(path).valid
    assert pipeline.check(path).warnings == ["Declared input 'n' is never used"]
    assert isinstance(pipeline.check(path, {"n": "x"}).error, ParameterError)
    assert not marker.exists()
    ir = workflow(shell("a", "echo ${nope.x}"), inputs={"x": {"type": "string", "default": ""}})
    broken = _write(tmp_path / "t.json", ir)
    assert isinstance(pipeline.check(broken).error, TemplateValidationError)
    assert isinstance(pipeline.check("no-such-name").error, WorkflowNotFoundError)


@pytest.mark.skipif(not SERVICE_DOC.is_file(), reason="docs are not part of this tree")
def test_the_documented_front_end_runs_as_documented(tmp_path: Path):
    text = SERVICE_DOC.read_text(encoding="utf-8")
    section = text.split("## The whole run in one call", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```\n", 1)[0]
    expected = section.split("```text\n", 1)[1].split("```\n", 1)[0]
    assert len(code.strip().splitlines()) <= 20  # "about 15 lines"
    script = tmp_path / "front_end.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "HOME": str(tmp_path), "PFLOW_HOME": str(tmp_path / "home")}
    proc = run_doc_example(script, env, tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == expected


def test_a_run_checks_the_schema_once(
    tmp_path: Path, manager: WorkflowManager, monkeypatch: pytest.MonkeyPatch
):
    import pflow.runtime.ir_schema as ir_schema

    checked: list[Any] = []
    real = ir_schema.conforms
    monkeypatch.setattr(ir_schema, "conforms", lambda s, d: checked.append(d) or real(s, d))
    path = _write(tmp_path / "one.json", workflow(shell("n", "echo hi")))
    outcome = RunPipeline(manager=manager).run(RunRequest(path, {}, use_stdin=False))
    assert outcome.success
    assert len(checked) == 1  # before the inputs; compiling does not check it again


def test_records_off_means_no_node_is_fingerprinted(
    tmp_path: Path, manager: WorkflowManager, monkeypatch: pytest.MonkeyPatch
):
    import pflow.runtime.node_runner as node_runner

    hashed: list[str] = []
    real = node_runner.fingerprint
    monkeypatch.setattr(node_runner, "fingerprint", lambda *a: hashed.append(a[0]) or real(*a))
    path = _write(tmp_path / "one.json", workflow(shell("n", "echo hi")))
    off = RunPipeline(manager=manager).run(RunRequest(path, {}, use_stdin=False, record=False))
    assert off.success and off.run_id is None and hashed == []
    on = RunPipeline(manager=manager).run(RunRequest(path, {}, use_stdin=False))
    assert on.success and on.run_id is not None and hashed == ["shell"]
