"""compile_ir_to_flow and the walk of the compiled flow, with real nodes and subprocesses."""

from __future__ import annotations

import inspect
import itertools
import json
import shlex
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import (
    CompilationError,
    NodeExecutionError,
    NodeParamError,
    PflowError,
    SchemaValidationError,
    TemplateResolutionError,
    TemplateValidationError,
    WorkflowSyntaxError,
)
from pflow.nodes.base import PflowNode
from pflow.nodes.spec import NodeSpec, OutputSpec, ParamSpec
from pflow.registry import Registry
from pflow.registry.catalog import BUILTIN_SPECS
from pflow.runtime.compiler import compile_ir_to_flow, unwrap_ir
from pflow.runtime.flow import WorkflowFlow
from pflow.runtime.inputs import prepare_inputs
from pflow.runtime.node_runner import NamespacedStore
from pflow.runtime.trace import WorkflowTraceCollector

# --- helpers ------------------------------------------------------------------------------


def sh(node_id: str, command: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "shell", "params": {"command": command, **params}}


def echo(node_id: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "echo", "params": params}


def edge(src: str, dst: str, action: str | None = None) -> dict[str, str]:
    out = {"from": src, "to": dst}
    if action is not None:
        out["action"] = action
    return out


def chain(*ids: str) -> list[dict[str, str]]:
    return [edge(a, b) for a, b in itertools.pairwise(ids)]


def wf(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"ir_version": "0.1.0", "nodes": list(nodes), **extra}


def run(
    ir: Any, shared: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[WorkflowFlow, Any, dict[str, Any]]:
    flow = compile_ir_to_flow(ir, **kwargs)
    store = {} if shared is None else shared
    action = flow.run(store)
    return flow, action, store


def q(path: Path) -> str:
    return shlex.quote(str(path))


# --- a node type of this module, for actions and exceptions real nodes never produce ------


class ProbeNode(PflowNode):
    """Returns the action given in `action`; raises when `raise` says so."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        return {"action": self.params.get("action"), "raise": self.params.get("raise")}

    def exec(self, prep_res: dict[str, Any]) -> dict[str, Any]:
        if prep_res["raise"] == "runtime":
            raise RuntimeError("kaboom")
        if prep_res["raise"] == "pflow":
            raise PflowError("plain pflow error")
        return prep_res

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: dict[str, Any]
    ) -> Any:
        shared["ran"] = shared.get("ran", 0) + 1
        return exec_res["action"]


PROBE = NodeSpec(
    name="probe",
    module=__name__,
    class_name="ProbeNode",
    description="Test probe",
    package="test",
    params=(ParamSpec("action", "any", "Action to return"), ParamSpec("raise", "any", "")),
    outputs=(OutputSpec("ran", "integer", "How often it ran"),),
)


@pytest.fixture
def probe_registry() -> Registry:
    return Registry(specs=(*BUILTIN_SPECS, PROBE))


def probe(node_id: str, action: Any = "default", raises: str | None = None) -> dict[str, Any]:
    return {"id": node_id, "type": "probe", "params": {"action": action, "raise": raises}}


class FakeMetrics:
    def __init__(self) -> None:
        self.timings: list[tuple[str, float]] = []

    def record_node_execution(self, node_id: str, duration_ms: float) -> None:
        self.timings.append((node_id, duration_ms))


# --- linear chains and routing ------------------------------------------------------------


def test_linear_chain(tmp_path: Path, echo_nodes: None) -> None:
    out = tmp_path / "sub" / "out.txt"
    ir = wf(
        sh("a", "printf hello"),
        echo("b", message="${a.stdout} world"),
        {
            "id": "c",
            "type": "write-file",
            "params": {"file_path": str(out), "content": "${b.echo}"},
        },
        edges=chain("a", "b", "c"),
    )
    flow, action, shared = run(ir)
    assert action == "default"
    assert not flow.failed(action)
    assert flow.executed == ["a", "b", "c"]
    assert flow.last_node_id == "c"
    assert out.read_text(encoding="utf-8") == "hello world"
    assert shared["a"] == {"stdout": "hello", "stderr": "", "exit_code": 0}
    assert shared["b"]["echo"] == "hello world"
    assert shared["c"]["file_path"] == str(out)


def test_single_node_without_edges_key() -> None:
    flow, action, shared = run(wf(sh("greet", "echo hello world")))
    assert action == "default"
    assert flow.executed == ["greet"]
    assert shared["greet"]["stdout"] == "hello world\n"


def test_nodes_without_edges_key_run_in_list_order() -> None:
    flow, action, shared = run(wf(sh("a", "echo one"), sh("b", "echo two ${a.stdout}")))
    assert action == "default"
    assert flow.executed == ["a", "b"]
    assert shared["b"]["stdout"] == "two one\n"
    assert flow.warnings == []


def test_explicit_empty_edges_run_only_the_start_node_and_warn() -> None:
    flow, _, shared = run(wf(sh("a", "echo one"), sh("b", "echo two"), edges=[]))
    assert flow.executed == ["a"]
    assert "b" not in shared
    assert flow.warnings == ["Node 'b' can never run: no edge leads to it from 'a'"]


@pytest.mark.parametrize(
    ("command", "taken", "skipped"),
    [("exit 0", "ok", "handler"), ("exit 3", "handler", "ok")],
)
def test_branch_on_action(command: str, taken: str, skipped: str) -> None:
    ir = wf(
        sh("a", command),
        sh("ok", "echo ok"),
        sh("handler", "echo handled code=${a.exit_code}"),
        edges=[edge("a", "ok"), edge("a", "handler", "error")],
    )
    flow, action, shared = run(ir)
    assert flow.executed == ["a", taken]
    assert skipped not in shared
    assert action == "default"
    assert not flow.failed(action)
    if taken == "handler":
        assert shared["handler"]["stdout"] == "handled code=3\n"
        assert shared["a"]["error"] == "Command failed with exit code 3"


def test_error_action_without_edge_ends_the_walk_as_a_failure() -> None:
    ir = wf(sh("a", "echo oops >&2; exit 2"), sh("b", "echo never"), edges=[edge("a", "b")])
    flow, action, shared = run(ir)
    assert action == "error"
    assert flow.failed(action)
    assert flow.executed == ["a"]
    assert "b" not in shared
    assert shared["a"]["error"] == "Command failed with exit code 2: oops"


def test_failure_of_a_later_node_fails_the_run() -> None:
    flow, action, _ = run(wf(sh("a", "true"), sh("b", "false"), edges=chain("a", "b")))
    assert flow.executed == ["a", "b"]
    assert flow.failed(action)


@pytest.mark.parametrize(
    ("final", "failed"),
    [
        ("default", False),
        ("custom", False),
        ("done", False),
        ("error", True),
        ("error_x", True),
        ("errors", True),
        ("not_error", False),
        (None, False),
    ],
)
def test_final_action_decides_failure(probe_registry: Registry, final: Any, failed: bool) -> None:
    ir = wf(
        probe("a"), probe("b", final), outputs={"o": {"source": "a.ran"}}, edges=chain("a", "b")
    )
    flow, action, shared = run(ir, registry=probe_registry)
    assert action == final
    assert flow.failed(action) is failed
    assert ("o" in shared) is not failed


def test_action_none_follows_the_default_edge(probe_registry: Registry) -> None:
    ir = wf(probe("a", None), probe("b"), edges=chain("a", "b"))
    flow, _, _ = run(ir, registry=probe_registry)
    assert flow.executed == ["a", "b"]


def test_custom_actions_route(probe_registry: Registry) -> None:
    ir = wf(
        probe("a", "left"),
        probe("l"),
        probe("r"),
        edges=[edge("a", "l", "left"), edge("a", "r", "right")],
    )
    flow, _, _ = run(ir, registry=probe_registry)
    assert flow.executed == ["a", "l"]


def test_long_chain_needs_no_deep_recursion(echo_nodes: None) -> None:
    n = 2000
    nodes = [echo("n0", message="hi")]
    nodes += [echo(f"n{i}", message=f"${{n{i - 1}.echo}}") for i in range(1, n)]
    ir = wf(*nodes, edges=chain(*(f"n{i}" for i in range(n))))
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 400)  # far below the chain length
    try:
        flow = compile_ir_to_flow(ir)
        shared: dict[str, Any] = {}
        action = flow.run(shared)
    finally:
        sys.setrecursionlimit(old_limit)
    assert action == "default"
    assert len(flow.executed) == n
    assert shared[f"n{n - 1}"]["echo"] == "hi"


# --- loops --------------------------------------------------------------------------------


def test_self_loop_ends_through_an_error_edge(tmp_path: Path) -> None:
    counter = q(tmp_path / "counter")
    ir = wf(
        sh(
            "inc",
            f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; "
            "[ $n -lt 3 ] || exit 7",
        ),
        sh("done", f"echo finished after $(cat {counter})"),
        edges=[edge("inc", "inc"), edge("inc", "done", "error")],
    )
    metrics = FakeMetrics()
    flow, action, shared = run(ir, metrics_collector=metrics)
    assert flow.executed == ["inc", "inc", "inc", "done"]
    assert [node_id for node_id, _ in metrics.timings] == ["inc", "inc", "inc", "done"]
    assert shared["inc"]["exit_code"] == 7
    assert shared["done"]["stdout"] == "finished after 3\n"
    assert action == "default"
    assert not flow.failed(action)


def test_loop_reresolves_templates_on_every_pass(tmp_path: Path) -> None:
    counter = q(tmp_path / "counter")
    ir = wf(
        sh(
            "count",
            f"n=$(($(cat {counter} 2>/dev/null || echo 0)+1)); echo $n > {counter}; printf $n",
        ),
        sh("check", "test ${count.stdout} -lt 3"),
        sh("done", "echo stopped at ${count.stdout}"),
        edges=[edge("count", "check"), edge("check", "count"), edge("check", "done", "error")],
    )
    flow, action, shared = run(ir)
    assert flow.executed == ["count", "check"] * 3 + ["done"]
    assert shared["done"]["stdout"] == "stopped at 3\n"
    assert shared["count"]["stdout"] == "3"
    assert not flow.failed(action)


def test_loop_without_an_exit_edge_fails(tmp_path: Path) -> None:
    counter = q(tmp_path / "counter")
    ir = wf(
        sh(
            "inc",
            f"n=$(($(cat {counter} 2>/dev/null || echo 0)+1)); echo $n > {counter}; printf $n",
        ),
        sh("check", "test ${inc.stdout} -lt 2"),
        edges=[edge("inc", "check"), edge("check", "inc")],
    )
    flow, action, _ = run(ir)
    assert flow.executed == ["inc", "check", "inc", "check"]
    assert flow.failed(action)


# --- start node ---------------------------------------------------------------------------


def test_start_node_chooses_where_the_walk_begins(tmp_path: Path) -> None:
    marker = tmp_path / "first-ran"
    ir = wf(
        sh("first", f"touch {q(marker)}"),
        sh("second", "echo second"),
        edges=chain("first", "second"),
        start_node="second",
    )
    flow, action, shared = run(ir)
    assert flow.executed == ["second"]
    assert not marker.exists()
    assert "first" not in shared
    assert action == "default"


def test_without_start_node_the_first_node_starts() -> None:
    ir = wf(sh("x", "echo x"), sh("y", "echo y"), edges=[edge("y", "x")])
    flow, _, _ = run(ir)
    assert flow.executed == ["x"]


# --- declared outputs ---------------------------------------------------------------------


OUTPUTS = {
    "greeting": {"source": "${g.stdout}", "description": "The greeting"},
    "code": {"source": "g.exit_code"},
    "whole": {"source": "$obj"},
    "deep": {"source": "obj.a[1].c"},
    "maybe_out": {"source": "maybe"},
    "untraced": {"description": "no source"},
}


def _outputs_ir(command: str) -> dict[str, Any]:
    return wf(
        sh("g", command),
        inputs={"obj": {"type": "object"}, "maybe": {"default": None}},
        outputs=OUTPUTS,
    )


def test_declared_outputs_are_copied_to_the_root_on_success() -> None:
    obj = {"a": [0, {"c": "deep!"}]}
    params = {"obj": obj, "maybe": None}
    _, action, shared = run(_outputs_ir("echo Hello"), dict(params), initial_params=params)
    assert action == "default"
    assert shared["greeting"] == "Hello\n"
    assert shared["code"] == 0
    assert type(shared["code"]) is int
    assert shared["whole"] == obj
    assert shared["deep"] == "deep!"
    assert "maybe_out" not in shared  # null values are not copied
    assert "untraced" not in shared


def test_declared_outputs_are_not_copied_on_failure() -> None:
    params = {"obj": {"a": 1}, "maybe": None}
    _, action, shared = run(
        _outputs_ir("echo partial; exit 1"), dict(params), initial_params=params
    )
    assert action == "error"
    assert shared["g"]["stdout"] == "partial\n"
    for name in OUTPUTS:
        assert name not in shared


def test_declared_outputs_are_not_copied_when_a_node_raises(probe_registry: Registry) -> None:
    ir = wf(
        probe("a"),
        probe("b", raises="runtime"),
        outputs={"o": {"source": "a.ran"}},
        edges=chain("a", "b"),
    )
    flow = compile_ir_to_flow(ir, registry=probe_registry)
    shared: dict[str, Any] = {}
    with pytest.raises(NodeExecutionError):
        flow.run(shared)
    assert shared["a"] == {"ran": 1}
    assert "o" not in shared


# --- namespacing --------------------------------------------------------------------------


def test_namespacing_on_keeps_each_nodes_outputs_apart() -> None:
    ir = wf(sh("first", "echo first"), sh("second", "echo second"), edges=chain("first", "second"))
    _, _, shared = run(ir)
    assert shared["first"]["stdout"] == "first\n"
    assert shared["second"]["stdout"] == "second\n"
    assert "stdout" not in shared
    assert "exit_code" not in shared


def test_namespacing_off_writes_to_the_root() -> None:
    ir = wf(
        sh("first", "printf first"),
        sh("second", "echo second got ${stdout}"),
        edges=chain("first", "second"),
        enable_namespacing=False,
    )
    _, action, shared = run(ir)
    assert action == "default"
    assert shared["stdout"] == "second got first\n"
    assert "first" not in shared
    assert "second" not in shared


def test_special_keys_stay_at_the_root_under_namespacing() -> None:
    shared: dict[str, Any] = {"__llm_calls__": ["kept"], "stdin": "piped"}
    ir = wf(sh("a", "cat"))
    _, _, shared = run(ir, shared)
    assert shared["a"]["stdout"] == "piped"  # the shell node reads root stdin through its view
    assert shared["__llm_calls__"] == ["kept"]


def test_namespaced_store_reads_own_keys_first_and_writes_to_own_namespace() -> None:
    shared: dict[str, Any] = {"x": "root", "y": "root-y", "n": {"x": "old"}}
    view = NamespacedStore(shared, "n")
    assert shared["n"] == {"x": "old"}  # an existing namespace is reused
    assert view["x"] == "old"
    assert view["y"] == "root-y"
    assert view.get("missing") is None
    view["y"] = "mine"
    view["__llm_calls__"] = ["call"]
    assert shared["y"] == "root-y"
    assert shared["n"] == {"x": "old", "y": "mine"}
    assert shared["__llm_calls__"] == ["call"]
    assert view["__llm_calls__"] == ["call"]
    assert "y" in view and "n" in view and "nope" not in view
    assert sorted(view) == sorted({"x", "y", "n", "__llm_calls__"})
    assert len(view) == 4
    del view["y"]
    assert view["y"] == "root-y"
    assert "y" in shared


def test_namespaced_store_creates_the_namespace() -> None:
    shared: dict[str, Any] = {}
    NamespacedStore(shared, "fresh")["k"] = 1
    assert shared == {"fresh": {"k": 1}}


# --- input forms --------------------------------------------------------------------------


def test_saved_workflow_wrapper_is_unwrapped() -> None:
    inner = wf(sh("a", "echo wrapped"))
    wrapper = {"name": "greet", "description": "x", "created_at": "2025-01-01", "ir": inner}
    flow, action, shared = run(wrapper)
    assert flow.ir is inner
    assert action == "default"
    assert shared["a"]["stdout"] == "wrapped\n"
    assert unwrap_ir(inner) is inner


def test_json_text_is_parsed() -> None:
    text = json.dumps({"ir": wf(sh("a", "echo from text"))}, indent=2)
    _, action, shared = run(text)
    assert action == "default"
    assert shared["a"]["stdout"] == "from text\n"


def test_invalid_json_text_is_a_syntax_error() -> None:
    with pytest.raises(WorkflowSyntaxError) as info:
        compile_ir_to_flow('{\n  "ir_version" "0.1.0"}')
    assert info.value.message.startswith("Invalid JSON at line 2, column 16: Expecting ':'")
    assert info.value.exit_code == 3


@pytest.mark.parametrize("document", ["[]", '"text"', "42", "null"])
def test_json_that_is_not_an_object_is_rejected(document: str) -> None:
    with pytest.raises(CompilationError, match="must be a JSON object"):
        compile_ir_to_flow(document)


def test_validation_errors_surface_from_compile() -> None:
    dup = wf(sh("a", "true"), sh("b", "true"), sh("c", "true"))
    dup["edges"] = [edge("a", "b"), edge("a", "c")]
    with pytest.raises(SchemaValidationError, match="both leave node 'a'"):
        compile_ir_to_flow(dup)
    with pytest.raises(TemplateValidationError, match=r"\$\{nope\}"):
        compile_ir_to_flow(wf(sh("a", "echo ${nope}")))
    with pytest.raises(SchemaValidationError, match="unknown key 'name'"):
        compile_ir_to_flow(wf(sh("a", "true"), name="x"))


def test_unused_inputs_become_flow_warnings() -> None:
    ir = wf(sh("a", "echo ${used}"), inputs={"used": {}, "spare": {"default": 1}})
    flow = compile_ir_to_flow(ir, initial_params={"used": 1})
    assert flow.warnings == ["Declared input 'spare' is never used"]
    assert compile_ir_to_flow(wf(sh("a", "true"))).warnings == []


def test_validate_false_skips_template_checks_but_not_node_types() -> None:
    flow = compile_ir_to_flow(wf(sh("a", "echo ${nope}")), validate=False)
    with pytest.raises(TemplateResolutionError, match=r"\$\{nope\}"):
        flow.run({})
    with pytest.raises(CompilationError, match="Unknown node type 'nosuch'"):
        compile_ir_to_flow(wf({"id": "a", "type": "nosuch"}), validate=False)


def test_validate_false_still_rejects_an_unknown_start_node() -> None:
    with pytest.raises(CompilationError) as info:
        compile_ir_to_flow(wf(sh("a", "true"), start_node="zz"), validate=False)
    assert info.value.pointer == "/start_node"


# --- run parameters and templates ---------------------------------------------------------


def test_inputs_with_defaults_reach_templates() -> None:
    ir = wf(
        sh("g", "echo Hello ${name}, ${times}x"), inputs={"name": {"default": "World"}, "times": {}}
    )
    params = prepare_inputs(ir, {"times": "2"}, from_text=True)
    flow, _, shared = run(ir, dict(params), initial_params=params)
    assert shared["g"]["stdout"] == "Hello World, 2x\n"
    assert flow.warnings == []


def test_nodes_read_only_their_params(tmp_path: Path) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("my content", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("other content", encoding="utf-8")
    target = tmp_path / "target.txt"
    ir = wf(
        {"id": "r", "type": "read-file", "params": {"file_path": str(mine)}},
        {"id": "w", "type": "write-file", "params": {"file_path": str(target), "content": "x"}},
        sh("s", "echo own command"),
        edges=chain("r", "w", "s"),
    )
    shared = {"file_path": str(other), "content": "wrong", "command": "echo wrong"}
    params = dict(shared)
    _, action, shared = run(ir, shared, initial_params=params)
    assert action == "default"
    assert shared["r"]["content"] == "my content"
    assert target.read_text(encoding="utf-8") == "x"
    assert other.read_text(encoding="utf-8") == "other content"
    assert shared["s"]["stdout"] == "own command\n"


def test_types_survive_templates_and_text_gets_json(echo_nodes: None) -> None:
    ir = wf(
        echo("a", message="m", data={"n": 3, "flag": True, "none": None}),
        echo(
            "b",
            message="n=${a.data.n} flag=${a.data.flag} none=[${a.data.none}] obj=${a.data}",
            data={"deep": ["${a.data.n}", {"f": "${a.data.flag}"}], "all": "${a.data}"},
        ),
        edges=chain("a", "b"),
    )
    _, _, shared = run(ir)
    assert shared["b"]["data"] == {
        "deep": [3, {"f": True}],
        "all": {"n": 3, "flag": True, "none": None},
    }
    assert shared["b"]["data"]["deep"][1]["f"] is True
    expected = 'n=3 flag=true none=[] obj={"n": 3, "flag": true, "none": null}'
    assert shared["b"]["echo"] == expected


def test_whole_string_template_gives_a_node_a_typed_param() -> None:
    ir = wf(sh("a", "sleep 0", timeout="${t}"), inputs={"t": {"type": "number"}})
    _, action, _ = run(ir, {"t": 5}, initial_params={"t": 5})
    assert action == "default"


def test_escaped_template_reaches_the_command_literally() -> None:
    _, _, shared = run(wf(sh("a", "printf '%s' '$${HOME} $${x.y}'")))
    assert shared["a"]["stdout"] == "${HOME} ${x.y}"


def test_stdin_template_validates_and_resolves() -> None:
    ir = wf(sh("a", "printf '%s' '${stdin}'"))
    _, _, shared = run(ir, {"stdin": "piped text"})
    assert shared["a"]["stdout"] == "piped text"


def test_indexing_an_any_output_works_end_to_end(echo_nodes: None) -> None:
    ir = wf(
        echo("a", data=["zero", {"k": "one"}]),
        echo("b", message="${a.data[1].k} and ${a.data[0]}"),
        edges=chain("a", "b"),
    )
    _, _, shared = run(ir)
    assert shared["b"]["echo"] == "one and zero"


# --- errors raised by nodes ---------------------------------------------------------------


def test_unresolved_template_at_run_time_names_variable_node_and_param(echo_nodes: None) -> None:
    # `data` is a declared output of echo, so this validates; node a writes no data at run time.
    ir = wf(echo("a", message="m"), echo("b", message="got ${a.data}"), edges=chain("a", "b"))
    flow = compile_ir_to_flow(ir)
    shared: dict[str, Any] = {}
    with pytest.raises(TemplateResolutionError) as info:
        flow.run(shared)
    err = info.value
    assert "${a.data}" in err.message
    assert "'b'" in err.message
    assert "'message'" in err.message
    assert err.node_id == "b"
    assert err.node_type == "echo"
    assert err.pointer == "/nodes/1/params/message"
    assert "b" not in shared  # the node never ran


def test_missing_stdin_at_run_time_is_an_error_not_text() -> None:
    flow = compile_ir_to_flow(wf(sh("a", "echo ${stdin}")))
    with pytest.raises(TemplateResolutionError) as info:
        flow.run({})
    assert info.value.node_id == "a"
    assert "${stdin}" in info.value.message
    assert info.value.hint is not None and "Pipe" in info.value.hint


def test_node_param_error_keeps_its_location(tmp_path: Path) -> None:
    ir = wf(sh("a", "true", cwd=str(tmp_path / "missing")))
    with pytest.raises(NodeParamError) as info:
        compile_ir_to_flow(ir).run({})
    assert info.value.node_id == "a"
    assert info.value.node_type == "shell"
    assert "does not exist" in info.value.message


def test_plain_exception_becomes_a_located_node_execution_error(
    probe_registry: Registry,
) -> None:
    ir = wf(probe("a"), probe("b", raises="runtime"), probe("c"), edges=chain("a", "b", "c"))
    flow = compile_ir_to_flow(ir, registry=probe_registry)
    with pytest.raises(NodeExecutionError) as info:
        flow.run({})
    err = info.value
    assert isinstance(err, PflowError)
    assert err.message == "Node 'b' (probe) failed: kaboom"
    assert err.details == "RuntimeError: kaboom"
    assert err.node_id == "b"
    assert err.node_type == "probe"
    assert isinstance(err.__cause__, RuntimeError)
    assert flow.executed == ["a", "b"]


def test_pflow_error_without_location_gets_the_node(probe_registry: Registry) -> None:
    ir = wf(probe("x", raises="pflow"))
    with pytest.raises(PflowError) as info:
        compile_ir_to_flow(ir, registry=probe_registry).run({})
    assert type(info.value) is PflowError
    assert info.value.message == "plain pflow error"
    assert info.value.node_id == "x"
    assert info.value.node_type == "probe"


# --- metrics, progress and trace ----------------------------------------------------------


def test_metrics_collector_receives_every_node_timing() -> None:
    metrics = FakeMetrics()
    ir = wf(sh("a", "true"), sh("b", "exit 1"), sh("c", "true"), edges=chain("a", "b", "c"))
    run(ir, metrics_collector=metrics)
    assert [node_id for node_id, _ in metrics.timings] == ["a", "b"]
    for _, duration in metrics.timings:
        assert isinstance(duration, float)
        assert duration >= 0


def test_metrics_record_a_node_that_raises(probe_registry: Registry) -> None:
    metrics = FakeMetrics()
    ir = wf(probe("a", raises="runtime"))
    flow = compile_ir_to_flow(ir, registry=probe_registry, metrics_collector=metrics)
    with pytest.raises(NodeExecutionError):
        flow.run({})
    assert [node_id for node_id, _ in metrics.timings] == ["a"]


class Progress:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, float | None, int, str | None]] = []

    def __call__(
        self,
        node_id: str,
        event: str,
        duration_ms: float | None,
        depth: int,
        detail: str | None = None,
    ) -> None:
        self.events.append((node_id, event, duration_ms, depth, detail))

    def summary(self) -> list[tuple[str, str, int]]:
        return [(n, e, d) for n, e, _, d, _ in self.events]


def test_progress_callback_events() -> None:
    progress = Progress()
    ir = wf(sh("a", "true"), sh("b", "echo bad >&2; exit 4"), edges=chain("a", "b"))
    run(ir, {"__progress_callback__": progress})
    assert progress.summary() == [
        ("a", "node_start", 0),
        ("a", "node_complete", 0),
        ("b", "node_start", 0),
        ("b", "node_failed", 0),
    ]
    starts = [e for e in progress.events if e[1] == "node_start"]
    assert all(duration is None for _, _, duration, _, _ in starts)
    ends = [e for e in progress.events if e[1] != "node_start"]
    assert all(isinstance(duration, float) and duration >= 0 for _, _, duration, _, _ in ends)
    assert progress.events[1][4] is None
    assert progress.events[3][4] == "Command failed with exit code 4: bad"


def test_progress_callback_reports_depth() -> None:
    progress = Progress()
    run(wf(sh("a", "true")), {"__progress_callback__": progress, "_pflow_depth": 2})
    assert progress.summary() == [("a", "node_start", 2), ("a", "node_complete", 2)]


def test_progress_callback_reports_a_node_that_raises(probe_registry: Registry) -> None:
    progress = Progress()
    ir = wf(probe("a", raises="runtime"))
    with pytest.raises(NodeExecutionError):
        compile_ir_to_flow(ir, registry=probe_registry).run({"__progress_callback__": progress})
    assert progress.summary() == [("a", "node_start", 0), ("a", "node_failed", 0)]
    assert progress.events[1][4] == "Node 'a' (probe) failed: kaboom"


def test_a_broken_progress_callback_does_not_break_the_run() -> None:
    calls: list[str] = []

    def broken(node_id: str, event: str, *rest: Any) -> None:
        calls.append(event)
        raise ValueError("display is gone")

    flow, action, _ = run(
        wf(sh("a", "echo ok"), sh("b", "true"), edges=chain("a", "b")),
        {"__progress_callback__": broken},
    )
    assert action == "default"
    assert flow.executed == ["a", "b"]
    assert calls == ["node_start", "node_complete", "node_start", "node_complete"]


def test_trace_collector_records_each_node() -> None:
    trace = WorkflowTraceCollector("wf")
    ir = wf(sh("a", "echo hi"), sh("b", "exit 5"), edges=chain("a", "b"))
    run(ir, trace_collector=trace)
    assert [(e["node_id"], e["success"]) for e in trace.events] == [("a", True), ("b", False)]
    assert trace.events[0]["mutations"]["added"] == ["a"]
    assert trace.events[1]["error"] == "Command failed with exit code 5"


def test_node_param_errors_point_into_the_ir(tmp_path: Path) -> None:
    ir = wf(sh("ok", "true"), sh("bad", "true", cwd=str(tmp_path / "missing")))
    with pytest.raises(NodeParamError) as info:
        run(ir)
    assert info.value.node_id == "bad"
    assert info.value.pointer == "/nodes/1/params/cwd"


def test_binary_data_embedded_in_text_is_a_located_error() -> None:
    ir = wf(sh("s", "echo data=${stdin}"))
    with pytest.raises(TemplateResolutionError) as info:
        run(ir, {"stdin": b"\xff\xfe\x00abc"})
    assert info.value.message == (
        "Template ${stdin} in node 's' (param 'command') is binary data (6 bytes), not text"
    )
    assert info.value.pointer == "/nodes/0/params/command"


def test_binary_data_passed_whole_reaches_the_command() -> None:
    ir = wf(sh("s", "od -An -tx1 | tr -d ' \\n'", stdin="${stdin}"))
    _, action, shared = run(ir, {"stdin": b"\xff\xfe\x00abc"})
    assert action == "default"
    assert shared["s"]["stdout"] == "fffe00616263"
