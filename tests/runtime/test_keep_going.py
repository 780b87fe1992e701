"""Keep-going walks of WorkflowFlow (`flow.keep_going = True`) with real shell nodes.

In keep-going mode a node that fails (an `error*` action no edge handles, or an exception) is
recorded in `flow.failures` and the walk goes on along the node's `default` edge. A node whose
templates read the outputs of a failed or skipped node is not run: it is recorded as skipped,
naming the node it waited for. Error edges are followed exactly as in abort mode, and a failed
or skipped node never runs again (a walk that comes back to one ends there).

Every node here that could run writes a marker file named after itself, so "not run" is proven
by a missing file, not by what the flow says about itself.
"""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeParamError, PflowError, TemplateResolutionError
from pflow.registry import Registry
from pflow.runtime.compiler import compile_ir_to_flow
from pflow.runtime.flow import NodeFailure, WorkflowFlow

# -- helpers ----------------------------------------------------------------------------------


class Markers:
    """Marker files in one test's directory: `touch(name)` is a command, `ran()` what ran."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir()

    def path(self, name: str) -> Path:
        return self.directory / name

    def touch(self, name: str) -> str:
        return f"touch {shlex.quote(str(self.path(name)))}"

    def ran(self) -> set[str]:
        return {p.name for p in self.directory.iterdir()}


@pytest.fixture
def markers(tmp_path: Path) -> Markers:
    return Markers(tmp_path / "markers")


def sh(node_id: str, command: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "shell", "params": {"command": command, **params}}


def edge(src: str, dst: str, action: str | None = None) -> dict[str, str]:
    out = {"from": src, "to": dst}
    if action is not None:
        out["action"] = action
    return out


def wf(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An IR of `nodes` chained by default edges in list order, unless `edges` is given."""
    ir: dict[str, Any] = {"ir_version": "0.1.0", "nodes": list(nodes)}
    if "edges" not in extra:
        ir["edges"] = [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]
    ir.update(extra)
    return ir


def compile_flow(ir: dict[str, Any], keep_going: bool) -> WorkflowFlow:
    flow = compile_ir_to_flow(ir, Registry())
    flow.keep_going = keep_going
    return flow


def walk(
    ir: dict[str, Any], keep_going: bool = True, shared: dict[str, Any] | None = None
) -> tuple[WorkflowFlow, Any, dict[str, Any]]:
    flow = compile_flow(ir, keep_going)
    store = {} if shared is None else shared
    action = flow.run(store)
    return flow, action, store


def summary(flow: WorkflowFlow) -> list[tuple[str, str, str | None]]:
    """(node id, kind, waiting_for) of each recorded failure, in order."""
    return [(f.node_id, f.kind, f.waiting_for) for f in flow.failures]


def fails(node_id: str, markers: Markers, code: int = 3) -> dict[str, Any]:
    """A node that runs (leaves its marker) and ends on its error action."""
    return sh(node_id, f"{markers.touch(node_id)}; echo '{node_id} broke' >&2; exit {code}")


def works(node_id: str, markers: Markers, **params: Any) -> dict[str, Any]:
    return sh(node_id, f"{markers.touch(node_id)}; echo '{node_id} ok'", **params)


def needs(node_id: str, markers: Markers, *sources: str) -> dict[str, Any]:
    """A node whose env reads the stdout of each of `sources` (so it depends on them)."""
    env = {f"IN_{i}": f"${{{source}.stdout}}" for i, source in enumerate(sources)}
    return sh(node_id, f'{markers.touch(node_id)}; echo "$IN_0"', env=env)


# -- independent failures ---------------------------------------------------------------------


@pytest.fixture
def three_failures(markers: Markers) -> dict[str, Any]:
    return wf(
        fails("a", markers, 3),
        works("ok1", markers),
        fails("b", markers, 4),
        works("ok2", markers),
        fails("c", markers, 5),
        works("ok3", markers),
    )


def test_three_independent_failures_are_all_recorded(
    three_failures: dict[str, Any], markers: Markers
):
    flow, action, shared = walk(three_failures)
    assert summary(flow) == [
        ("a", "error_action", None),
        ("b", "error_action", None),
        ("c", "error_action", None),
    ]
    assert [(f.node_type, f.action, f.error) for f in flow.failures] == [
        ("shell", "error", None)
    ] * 3
    assert flow.executed == ["a", "ok1", "b", "ok2", "c", "ok3"]
    assert markers.ran() == {"a", "ok1", "b", "ok2", "c", "ok3"}
    assert [shared[n]["exit_code"] for n in ("a", "b", "c")] == [3, 4, 5]
    assert shared["ok3"]["stdout"] == "ok3 ok\n"
    assert action == "default"  # the last node succeeded; the failures decide the outcome
    assert flow.last_node_id == "ok3"


def test_abort_mode_stops_after_the_first_of_the_same_failures(
    three_failures: dict[str, Any], markers: Markers
):
    flow, action, shared = walk(three_failures, keep_going=False)
    assert flow.executed == ["a"]
    assert flow.failures == []
    assert action == "error"
    assert flow.failed(action)
    assert markers.ran() == {"a"}
    assert "ok1" not in shared


def test_a_failing_last_node_ends_the_walk_with_its_error_action(markers: Markers):
    flow, action, _ = walk(wf(works("first", markers), fails("last", markers)))
    assert summary(flow) == [("last", "error_action", None)]
    assert action == "error"
    assert flow.last_node_id == "last"


def test_each_walk_starts_with_no_failures(markers: Markers):
    flow = compile_flow(wf(fails("a", markers), works("b", markers)), keep_going=True)
    flow.run({})
    flow.run({})
    assert summary(flow) == [("a", "error_action", None)]
    assert flow.executed == ["a", "b"]


# -- dependents are skipped, never run ------------------------------------------------------


def test_direct_and_transitive_dependents_are_skipped_and_never_run(markers: Markers):
    ir = wf(
        fails("fetch", markers),
        needs("parse", markers, "fetch"),
        needs("report", markers, "parse"),
        works("lint", markers),
        needs("summary", markers, "lint"),
    )
    flow, action, shared = walk(ir)
    assert summary(flow) == [
        ("fetch", "error_action", None),
        ("parse", "skipped", "fetch"),
        ("report", "skipped", "parse"),
    ]
    assert markers.ran() == {"fetch", "lint", "summary"}
    assert not markers.path("parse").exists()
    assert not markers.path("report").exists()
    assert flow.executed == ["fetch", "lint", "summary"]
    assert "parse" not in shared  # a skipped node gets no namespace
    assert "report" not in shared
    assert shared["summary"]["stdout"] == "lint ok\n\n"
    assert action == "default"


def test_skipped_failures_carry_no_action_and_no_error(markers: Markers):
    flow, _, _ = walk(wf(fails("a", markers), needs("b", markers, "a")))
    assert flow.failures[1] == NodeFailure("b", "shell", "skipped", waiting_for="a")
    assert flow.last_node_id == "a"  # the last node that started; "b" never did


def test_a_dependency_anywhere_in_the_params_counts(markers: Markers):
    ir = wf(
        fails("src", markers),
        sh("via_stdin", markers.touch("via_stdin"), stdin="${src.stdout}"),
        sh("via_command", f"{markers.touch('via_command')}; echo ${{src.exit_code}}"),
        sh("via_nested", markers.touch("via_nested"), env={"X": "pre-${src.stderr}-post"}),
    )
    flow, _, _ = walk(ir)
    assert summary(flow) == [
        ("src", "error_action", None),
        ("via_stdin", "skipped", "src"),
        ("via_command", "skipped", "src"),
        ("via_nested", "skipped", "src"),
    ]
    assert markers.ran() == {"src"}


def test_an_escaped_template_is_not_a_dependency(markers: Markers):
    ir = wf(fails("src", markers), sh("lit", f"{markers.touch('lit')}; echo '$${{src.stdout}}'"))
    flow, _, shared = walk(ir)
    assert summary(flow) == [("src", "error_action", None)]
    assert shared["lit"]["stdout"] == "${src.stdout}\n"
    assert markers.ran() == {"src", "lit"}


def test_waiting_for_names_the_first_failed_dependency_in_execution_order(markers: Markers):
    # Eight nodes fail; "all" reads them in the opposite order. The node named must not depend
    # on set order (which changes with PYTHONHASHSEED): it is the one that failed first.
    names = ["zeta", "alpha", "mu", "beta", "omega", "kappa", "delta", "sigma"]
    ir = wf(*(fails(name, markers) for name in names), needs("all", markers, *reversed(names)))
    flow, _, _ = walk(ir)
    assert summary(flow)[-1] == ("all", "skipped", "zeta")
    assert not markers.path("all").exists()


def test_a_node_that_only_depends_on_successful_nodes_runs(markers: Markers):
    ir = wf(works("ok", markers), fails("bad", markers), needs("uses_ok", markers, "ok"))
    flow, _, shared = walk(ir)
    assert summary(flow) == [("bad", "error_action", None)]
    assert shared["uses_ok"]["stdout"] == "ok ok\n\n"
    assert markers.ran() == {"ok", "bad", "uses_ok"}


def test_a_dependency_that_never_ran_is_not_a_skip_the_template_fails(markers: Markers):
    # "handler" is only reached through an error edge that is not taken: it did not fail, it
    # did not run. The node reading it runs and raises, recorded as an exception.
    ir = wf(
        works("start", markers),
        sh("handler", markers.touch("handler")),
        needs("reader", markers, "handler"),
        works("after", markers),
        edges=[
            edge("start", "reader"),
            edge("start", "handler", "error"),
            edge("reader", "after"),
        ],
    )
    flow, _, _ = walk(ir)
    assert summary(flow) == [("reader", "exception", None)]
    assert isinstance(flow.failures[0].error, TemplateResolutionError)
    assert markers.ran() == {"start", "after"}


# -- exceptions -------------------------------------------------------------------------------


def test_an_exception_is_recorded_with_its_pflow_error_and_the_walk_goes_on(
    markers: Markers, tmp_path: Path
):
    missing = tmp_path / "no-such-dir"
    ir = wf(
        works("first", markers),
        works("cd", markers, cwd=str(missing)),
        needs("uses_cd", markers, "cd"),
        works("last", markers),
    )
    flow, action, _ = walk(ir)
    assert summary(flow) == [("cd", "exception", None), ("uses_cd", "skipped", "cd")]
    error = flow.failures[0].error
    assert isinstance(error, NodeParamError)
    assert isinstance(error, PflowError)
    assert error.node_id == "cd"
    assert error.node_type == "shell"
    assert error.pointer == "/nodes/1/params/cwd"
    assert str(missing) in error.message
    assert flow.failures[0].action is None
    assert markers.ran() == {"first", "last"}  # cd never started its command
    assert flow.executed == ["first", "cd", "last"]
    assert action == "default"


def test_abort_mode_raises_the_same_exception(markers: Markers, tmp_path: Path):
    ir = wf(works("cd", markers, cwd=str(tmp_path / "nope")), works("last", markers))
    flow = compile_flow(ir, keep_going=False)
    with pytest.raises(NodeParamError):
        flow.run({})
    assert flow.failures == []
    assert markers.ran() == set()


# -- error edges ------------------------------------------------------------------------------


def _handled_ir(markers: Markers) -> dict[str, Any]:
    return wf(
        fails("fetch", markers),
        sh(
            "fallback",
            f'{markers.touch("fallback")}; echo "fallback after exit $CODE"',
            env={"CODE": "${fetch.exit_code}"},
        ),
        needs("use", markers, "fetch"),
        works("never", markers),
        edges=[
            edge("fetch", "use"),
            edge("fetch", "fallback", "error"),
            edge("use", "never"),
        ],
    )


def test_an_error_edge_is_followed_identically_in_both_modes(tmp_path: Path):
    outcomes = {}
    for keep_going in (False, True):
        markers = Markers(tmp_path / f"markers-{keep_going}")
        flow, action, shared = walk(_handled_ir(markers), keep_going=keep_going)
        outcomes[keep_going] = (flow.executed, action, shared, flow.failures, markers.ran())
    assert outcomes[True] == outcomes[False]
    executed, action, shared, failures, ran = outcomes[True]
    assert executed == ["fetch", "fallback"]
    assert failures == []
    assert action == "default"
    assert shared["fallback"]["stdout"] == "fallback after exit 3\n"
    assert ran == {"fetch", "fallback"}


def test_a_failing_handler_is_a_failure_in_keep_going_mode(markers: Markers):
    ir = wf(
        fails("fetch", markers),
        fails("fallback", markers),
        works("independent", markers),
        edges=[edge("fetch", "fallback", "error"), edge("fallback", "independent")],
    )
    flow, _, _ = walk(ir)
    # fetch's failure was handled by its edge; the handler's own failure was not.
    assert summary(flow) == [("fallback", "error_action", None)]
    assert markers.ran() == {"fetch", "fallback", "independent"}
    abort, action, _ = walk(ir, keep_going=False)
    assert abort.executed == ["fetch", "fallback"]
    assert action == "error"


def test_a_failure_without_a_default_edge_ends_the_walk(markers: Markers):
    ir = wf(
        fails("a", markers),
        works("b", markers),
        works("c", markers),
        edges=[edge("a", "b", "other"), edge("b", "c")],
    )
    flow, action, _ = walk(ir)
    assert summary(flow) == [("a", "error_action", None)]
    assert flow.executed == ["a"]
    assert action == "error"
    assert markers.ran() == {"a"}


# -- loops ------------------------------------------------------------------------------------


def _counter(path: Path, limit: int) -> str:
    """Add one to the counter file; exit 0 while below `limit`, 1 once it is reached."""
    counter = shlex.quote(str(path))
    return (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {counter}; "
        f"printf $n; [ $n -lt {limit} ]"
    )


def test_a_self_loop_that_ends_through_an_error_edge_is_the_same_in_both_modes(tmp_path: Path):
    outcomes = {}
    for keep_going in (False, True):
        counter = tmp_path / f"counter-{keep_going}"
        ir = wf(
            sh("tick", _counter(counter, 3)),
            sh("report", "echo finished at ${tick.stdout}"),
            edges=[edge("tick", "tick"), edge("tick", "report", "error")],
        )
        flow, action, shared = walk(ir, keep_going=keep_going)
        outcomes[keep_going] = (flow.executed, action, shared, flow.failures)
        assert counter.read_text() == "3\n"
    assert outcomes[True] == outcomes[False]
    executed, action, shared, failures = outcomes[True]
    assert executed == ["tick", "tick", "tick", "report"]
    assert shared["report"]["stdout"] == "finished at 3\n"
    assert action == "default"
    assert failures == []


def test_a_self_loop_ended_by_an_unhandled_failure_stops_there_in_both_modes(tmp_path: Path):
    # Abort mode ends at the failure. Keep-going would follow the failing node's default edge
    # back to itself forever; a failed node never runs again, so the walk ends there too.
    outcomes = {}
    for keep_going in (False, True):
        counter = tmp_path / f"counter-{keep_going}"
        flow, action, _ = walk(
            wf(sh("tick", _counter(counter, 3)), edges=[edge("tick", "tick")]),
            keep_going=keep_going,
        )
        outcomes[keep_going] = (flow.executed, action, counter.read_text())
        assert summary(flow) == ([("tick", "error_action", None)] if keep_going else [])
    assert outcomes[True] == outcomes[False] == (["tick", "tick", "tick"], "error", "3\n")


def test_a_loop_through_a_failing_node_ends_when_it_comes_back_to_it(tmp_path: Path):
    # inc -> check -> inc: check fails on the second pass and has no error edge. Abort mode
    # stops there. Keep-going follows check's default edge to inc (inc does not read check's
    # outputs, so it runs a third time), then ends instead of running the failed check again.
    ir_for = {
        keep_going: wf(
            sh("inc", _counter(tmp_path / f"counter-{keep_going}", 99)),
            sh("check", "test ${inc.stdout} -lt 2"),
            edges=[edge("inc", "check"), edge("check", "inc")],
        )
        for keep_going in (False, True)
    }
    abort, abort_action, _ = walk(ir_for[False], keep_going=False)
    assert abort.executed == ["inc", "check", "inc", "check"]
    assert abort_action == "error"
    keep, action, shared = walk(ir_for[True], keep_going=True)
    assert keep.executed == ["inc", "check", "inc", "check", "inc"]
    assert summary(keep) == [("check", "error_action", None)]
    assert shared["inc"]["stdout"] == "3"
    assert (tmp_path / "counter-True").read_text() == "3\n"
    assert action == "default"
    assert keep.last_node_id == "inc"


def test_a_loop_of_skipped_nodes_ends(markers: Markers):
    # "tick" reads the failed "seed" and loops on itself: it is skipped once, then the walk
    # comes back to a skipped node and ends (it would otherwise skip forever).
    ir = wf(
        fails("seed", markers),
        needs("tick", markers, "seed"),
        works("out", markers),
        edges=[edge("seed", "tick"), edge("tick", "tick"), edge("tick", "out", "error")],
    )
    flow, action, _ = walk(ir)
    assert summary(flow) == [("seed", "error_action", None), ("tick", "skipped", "seed")]
    assert flow.executed == ["seed"]
    assert markers.ran() == {"seed"}
    assert action == "error"
    assert flow.last_node_id == "seed"  # a skipped node never started


# -- namespacing off --------------------------------------------------------------------------


def test_without_namespacing_nothing_is_skipped_dependents_run(markers: Markers):
    # Dependencies are only known from `${node.key}` templates, which need namespacing. With
    # it off, a node reading `${stdout}` runs after a failure and sees what is at the root.
    ir = wf(
        sh("a", f"{markers.touch('a')}; echo partial; exit 1"),
        sh("b", f'{markers.touch("b")}; echo "got $X"', env={"X": "${stdout}"}),
        enable_namespacing=False,
    )
    flow, action, shared = walk(ir)
    assert summary(flow) == [("a", "error_action", None)]
    assert markers.ran() == {"a", "b"}
    assert shared["stdout"] == "got partial\n\n"
    assert action == "default"
    assert all(not runner for runner in _depends_on(flow).values())


def _depends_on(flow: WorkflowFlow) -> dict[str, frozenset[str]]:
    """Every runner reachable from the start node, with its dependencies."""
    found: dict[str, frozenset[str]] = {}
    pending = [flow.start_node]
    while pending:
        runner = pending.pop()
        if runner.node_id not in found:
            found[runner.node_id] = runner.depends_on
            pending.extend(runner.successors.values())
    return found


def test_dependencies_are_the_node_ids_templates_read(markers: Markers):
    ir = wf(
        works("a", markers),
        sh("b", "echo ${a.stdout} ${a.exit_code} ${x}", env={"Y": "${b.stdout}"}),
        inputs={"x": {"type": "string", "default": "v"}},
    )
    assert _depends_on(compile_flow(ir, keep_going=True)) == {
        "a": frozenset(),
        "b": frozenset({"a", "b"}),
    }


# -- declared outputs -------------------------------------------------------------------------


def test_declared_outputs_are_not_copied_after_a_failure(markers: Markers):
    ir = wf(
        fails("a", markers),
        works("b", markers),
        outputs={"out": {"source": "${b.stdout}"}},
    )
    flow, action, shared = walk(ir)
    assert action == "default"
    assert summary(flow) == [("a", "error_action", None)]
    assert "out" not in shared
    _, _, ok = walk(wf(works("b", markers), outputs={"out": {"source": "${b.stdout}"}}))
    assert ok["out"] == "b ok\n"


# -- progress events --------------------------------------------------------------------------


def test_skipped_nodes_get_a_node_skipped_progress_event(markers: Markers):
    events: list[tuple[str, str, int, str | None]] = []

    def record(
        node_id: str,
        event: str,
        duration_ms: float | None = None,
        depth: int = 0,
        detail: str | None = None,
    ) -> None:
        events.append((node_id, event, depth, detail))

    ir = wf(
        fails("fetch", markers),
        needs("parse", markers, "fetch"),
        needs("report", markers, "parse"),
        works("lint", markers),
    )
    walk(ir, shared={"__progress_callback__": record})
    assert events == [
        ("fetch", "node_start", 0, None),
        ("fetch", "node_failed", 0, "Command failed with exit code 3: fetch broke"),
        ("parse", "node_skipped", 0, "fetch"),
        ("report", "node_skipped", 0, "parse"),
        ("lint", "node_start", 0, None),
        ("lint", "node_complete", 0, None),
    ]


def test_a_broken_progress_callback_does_not_stop_the_walk(markers: Markers):
    calls: list[str] = []

    def broken(node_id: str, event: str, *args: Any) -> None:
        calls.append(event)
        raise RuntimeError("display gone")

    flow, _, _ = walk(
        wf(fails("a", markers), needs("b", markers, "a"), works("c", markers)),
        shared={"__progress_callback__": broken},
    )
    assert "node_skipped" in calls
    assert summary(flow)[-1] == ("b", "skipped", "a")
    assert markers.ran() == {"a", "c"}


def test_abort_mode_never_announces_a_skip(markers: Markers):
    events: list[str] = []
    walk(
        wf(fails("a", markers), needs("b", markers, "a")),
        keep_going=False,
        shared={"__progress_callback__": lambda node_id, event, *rest: events.append(event)},
    )
    assert events == ["node_start", "node_failed"]
