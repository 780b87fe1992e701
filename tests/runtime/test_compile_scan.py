"""Parsing params once at compile time (`TemplateScan`, `plan_text`) changes no result.

Compiling walks each node's params once and parses its templates once; validation, the
compiler and every later run reuse that parse. These tests compare it with the per-use
helpers it replaces (`iter_strings`, `iter_templates`, `has_templates`) and with the
regex-substitution resolver the runtime used before, kept here as an oracle.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

import pytest

from pflow.foundation.exceptions import (
    CompilationError,
    TemplateResolutionError,
    TemplateValidationError,
)
from pflow.registry import Registry
from pflow.runtime import templates, validation
from pflow.runtime.compiler import compile_ir_to_flow
from pflow.runtime.node_runner import NodeRunner
from pflow.runtime.templates import (
    TEMPLATE_RE,
    Template,
    TemplateScan,
    has_templates,
    iter_strings,
    iter_templates,
    lookup,
    parse_path,
    plan_text,
    render,
    resolve_params,
    resolve_value,
    unterminated_templates,
)

# --- the resolver before plans, as an oracle ---------------------------------------------


class _OracleMissing(Exception):
    def __init__(self, template: Template, where: str, problem: str | None = None) -> None:
        super().__init__(template.text)
        self.template, self.where, self.problem = template, where, problem


def _oracle_value(value: Any, context: Mapping[str, Any], where: str = "") -> Any:
    if isinstance(value, str):
        return _oracle_string(value, context, where)
    if isinstance(value, dict):
        return {k: _oracle_value(v, context, f"{where}/{_esc(str(k))}") for k, v in value.items()}
    if isinstance(value, list):
        return [_oracle_value(v, context, f"{where}/{i}") for i, v in enumerate(value)]
    return value


def _oracle_string(text: str, context: Mapping[str, Any], where: str) -> Any:
    if "${" not in text:
        return text
    whole = TEMPLATE_RE.fullmatch(text)
    if whole is not None and not whole.group(1):
        template = Template(text, parse_path(whole.group(2)))
        found, value = lookup(context, template.path)
        if not found:
            raise _OracleMissing(template, where)
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]
        template = Template(match.group(0), parse_path(match.group(2)))
        found, value = lookup(context, template.path)
        if not found:
            raise _OracleMissing(template, where)
        if isinstance(value, bytes):
            raise _OracleMissing(template, where, f"is binary data ({len(value)} bytes), not text")
        return render(value)

    return TEMPLATE_RE.sub(substitute, text)


def _oracle(value: Any, context: Mapping[str, Any]) -> tuple[str, Any]:
    """("ok", resolved) or ("missing", (template, pointer, problem)) or ("error", repr)."""
    try:
        return "ok", _oracle_value(value, context)
    except _OracleMissing as missing:
        return "missing", (missing.template, missing.where, missing.problem)
    except Exception as exc:
        return "error", repr(exc)


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# --- corpus -------------------------------------------------------------------------------

TEXTS = [
    "plain",
    "",
    "${a}",
    "${a.b}",
    "${a.items[1]}",
    "${a.items[1].name}",
    "${m[0][1]}",
    "${my-node.out_1}",
    "x ${a} y",
    "${a}${a}",
    "${a.b} and ${s}",
    "$${a}",
    "$${a} is ${a.b}",
    "cost $${x} here",
    "${a",
    "${a.b",
    'say "${a.b" now',
    "${HOME:-/tmp}",
    "${#list[@]}",
    "${}",
    "${1abc}",
    "$$${a}",
    "${a}}",
    "{${a}}",
    "${a} ",
    "${a}\n",
    "${b}",
    "${bin}",
    "t=${bin}",
    "${a.missing}",
    "v=${a.missing.deep}",
    "${obj}",
    "o=${obj} f=${flag} n=${none} i=${num}",
    "ünïcode ${s} ✓",
    "${a.items[7]}",
    "x${a.items[7]}",
]

CONTEXT: dict[str, Any] = {
    "a": {"b": "B", "items": [{"name": "zero"}, {"name": "one"}]},
    "m": [[1, 2]],
    "my-node": {"out_1": 7},
    "s": "hi",
    "bin": b"\x00\x01",
    "obj": {"k": ["v", None, True]},
    "flag": False,
    "none": None,
    "num": 2.5,
}


def _params_corpus() -> list[Any]:
    out: list[Any] = [{"p": text} for text in TEXTS]
    out += [
        {},
        {"n": 1, "f": None, "b": True, "l": [1, 2.5]},
        {"a/b": "${a.b}", "c~d": ["${s}", {"e/~f": "${num}"}], "plain": "x"},
        {"env": {"X": "${flag}", "Y": "no"}, "list": [["${a.items[0]}"], {"deep": "${obj}"}]},
        {"first": "${a.b}", "second": "${missing}", "third": "${bin}"},
        {"nested": {"ok": "${s}", "bad": ["fine", "t=${bin}"]}},
        {"dup": "${s}", "dup2": "${s}", "list": ["${s}", "${s}"]},
        {"${key}": "keys are never templates", "v": "$${escaped}"},
        {"empty": [], "emptyd": {}, "mixed": [None, 1, "${num}", {"k": "${none}"}]},
        "${s}",  # params need not be a dict when validation is off
        ["${s}", {"x": "${a.b}"}],
        42,
    ]
    return out


PARAMS = _params_corpus()


# --- TemplateScan agrees with the per-use helpers -------------------------------------------


@pytest.mark.parametrize("params", PARAMS)
def test_scan_finds_what_iter_strings_and_iter_templates_find(params: Any) -> None:
    scan = TemplateScan()
    texts = scan.scan(params)
    assert list(texts) == [(w, t) for w, t in iter_strings(params) if "${" in t]
    assert set(scan.plans) == {t for _, t in texts}
    assert [(w, Template(text, path)) for w, text, path in scan.templates(texts)] == list(
        iter_templates(params)
    )
    assert bool(texts) == has_templates(params)
    assert scan.bases(texts) == scan.all_bases() == {t.base for _, t in iter_templates(params)}


def test_one_scan_serves_every_node() -> None:
    scan = TemplateScan()
    first = scan.scan({"a": "${x.y}", "b": ["${s}", "plain"]})
    second = scan.scan({"c": "${s}", "d": {"e": "t=${z}"}})
    assert first == (("/a", "${x.y}"), ("/b/0", "${s}"))
    assert second == (("/c", "${s}"), ("/d/e", "t=${z}"))
    assert list(scan.plans) == ["${x.y}", "${s}", "t=${z}"]  # each string parsed once
    assert scan.bases(first) == {"x", "s"} and scan.bases(second) == {"s", "z"}
    assert scan.all_bases() == {"x", "s", "z"}
    assert scan.whole("${s}") and not scan.whole("t=${z}")


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_that_is_one_template_holds_nothing_unterminated(text: str) -> None:
    """_unterminated skips whole-template strings: it must find nothing in them anyway."""
    if "${" not in text:
        return
    path, _ = plan_text(text)
    if path is not None:
        assert unterminated_templates(text) == []


# --- resolution with plans is resolution without them --------------------------------------


def _plans(params: Any) -> dict[str, Any]:
    scan = TemplateScan()
    scan.scan(params)
    return scan.plans


def _planned(params: Any, plans: Mapping[str, Any] | None) -> tuple[str, Any]:
    try:
        return "ok", resolve_params(params, CONTEXT, "n", "echo", plans)
    except TemplateResolutionError as exc:
        return "missing", (exc.message, exc.hint, exc.pointer)
    except Exception as exc:
        return "error", repr(exc)


def _expected(params: Any) -> tuple[str, Any]:
    kind, result = _oracle(params, CONTEXT)
    if kind != "missing":
        return kind, result
    template, where, problem = result
    hint = templates._BINARY_HINT if problem else templates._resolution_hint(template, CONTEXT)
    message = (
        f"Template {template.text} in node 'n' (param '{where.lstrip('/')}') "
        f"{problem or 'has no value when the node runs'}"
    )
    return "missing", (message, hint, f"/params{where}")


@pytest.mark.parametrize("params", PARAMS)
def test_resolving_with_plans_matches_the_regex_resolver(params: Any) -> None:
    expected = _expected(params)
    assert _planned(params, _plans(params)) == expected
    assert _planned(params, None) == expected  # a string without a plan is parsed on the spot


@pytest.mark.parametrize("params", PARAMS)
def test_resolve_value_matches_the_regex_resolver(params: Any) -> None:
    try:
        got: tuple[str, Any] = "ok", resolve_value(params, CONTEXT, "/root")
    except templates._Unresolved as missing:
        got = "missing", (missing.template, missing.where, missing.problem)
    kind, result = _oracle(params, CONTEXT)
    if kind == "missing":
        result = (result[0], "/root" + result[1], result[2])
    assert got == (kind, result)


def test_resolution_rebuilds_containers_and_keeps_leaves() -> None:
    inner = {"k": [1, 2]}
    params = {"t": "${s}", "data": inner, "n": 3}
    resolved = resolve_params(params, CONTEXT, "n", "echo", _plans(params))
    assert resolved == {"t": "hi", "data": {"k": [1, 2]}, "n": 3}
    assert resolved["data"] is not inner and resolved["data"]["k"] is not inner["k"]
    assert params == {"t": "${s}", "data": {"k": [1, 2]}, "n": 3}


def test_a_plan_for_text_that_changed_after_compiling_is_not_used() -> None:
    params = {"t": "${s}"}
    plans = _plans(params)
    params["t"] = "${a.b}"
    assert resolve_params(params, CONTEXT, "n", "echo", plans) == {"t": "B"}


@pytest.mark.parametrize(
    ("text", "context"),
    [("${a}", {"a": 1}), ("$${a} ${a}", {"a": [1]}), ("x${a}y${b}", {"a": None, "b": True})],
)
def test_plans_render_like_substitution(text: str, context: dict[str, Any]) -> None:
    assert resolve_value(text, context) == _oracle_value(text, context)


# --- the compiler reuses what validation found ---------------------------------------------


def _chain(n: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "echo", "params": {"message": "hi"}}]
    for i in range(1, n):
        message = f"${{n{i - 1}.echo}}"
        nodes.append({"id": f"n{i}", "type": "echo", "params": {"message": message}})
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n - 1)]
    return {"ir_version": "0.1.0", "nodes": nodes, "edges": edges}


def test_a_chain_compiles_and_runs_alike_with_and_without_validation(echo_nodes: None) -> None:
    checked = compile_ir_to_flow(_chain(30), registry=Registry())
    unchecked = compile_ir_to_flow(_chain(30), registry=Registry(), validate=False)
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    assert checked.run(a) == unchecked.run(b) == "default"
    assert a == b and a["n29"]["echo"] == "hi"
    assert checked.executed == unchecked.executed


def test_params_are_scanned_once_per_node_while_compiling(
    echo_nodes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Any] = []
    original = TemplateScan.scan

    def counting(self: TemplateScan, params: Any) -> Any:
        made.append(params)
        return original(self, params)

    monkeypatch.setattr(TemplateScan, "scan", counting)
    compile_ir_to_flow(_chain(5), registry=Registry())
    assert len(made) == 5
    made.clear()
    compile_ir_to_flow(_chain(5), registry=Registry(), validate=False)
    assert len(made) == 5


def test_each_node_type_is_looked_up_once(echo_nodes: None) -> None:
    class Counting(Registry):
        calls = 0

        def require(self, name: str) -> Any:
            Counting.calls += 1
            return super().require(name)

    compile_ir_to_flow(_chain(20), registry=Counting())
    assert Counting.calls == 2  # once in validation, once in the compiler
    Counting.calls = 0
    compile_ir_to_flow(_chain(20), registry=Counting(), validate=False)
    assert Counting.calls == 1


@pytest.mark.parametrize("validate", [True, False])
def test_an_unknown_type_still_fails_at_its_first_node(echo_nodes: None, validate: bool) -> None:
    ir = _chain(4)
    ir["nodes"][2]["type"] = ir["nodes"][3]["type"] = "nope"
    with pytest.raises(CompilationError, match="Unknown node type 'nope'") as info:
        compile_ir_to_flow(ir, registry=Registry(), validate=validate)
    if validate:
        assert info.value.node_id == "n2"
        assert info.value.pointer == "/nodes/2/type"


def test_dependencies_come_from_the_scans(echo_nodes: None) -> None:
    ir = _chain(3)
    ir["nodes"][2]["params"] = {"message": "${n0.echo} ${n1.echo} ${n1.metadata.count}"}
    ir["nodes"][1]["params"] = {"message": "$${n0.echo}", "data": ["${missing_root}"]}
    flow = compile_ir_to_flow(ir, registry=Registry(), validate=False)
    runners: dict[str, NodeRunner] = {}
    current: NodeRunner | None = flow.start_node
    while current is not None:
        runners[current.node_id] = current
        current = current.successors.get("default")
    assert {k: r.depends_on for k, r in runners.items()} == {
        "n0": frozenset(),
        "n1": frozenset(),
        "n2": frozenset({"n0", "n1"}),
    }


def test_a_walk_changes_no_runner(echo_nodes: None) -> None:
    """The walk runs the compiled runners themselves (no copies): a run must not change them."""
    flow = compile_ir_to_flow(_chain(3), registry=Registry())
    runners: list[NodeRunner] = []
    current: NodeRunner | None = flow.start_node
    while current is not None:
        runners.append(current)
        current = current.successors.get("default")
    before = [dict(vars(r)) for r in runners]
    for _ in range(2):
        flow.run({})
    after = [dict(vars(r)) for r in runners]
    assert len(before) == len(after) == 3
    for old, new in zip(before, after, strict=True):
        assert old.keys() == new.keys()
        assert all(new[k] is v for k, v in old.items() if k != "params")
        assert new["params"] == old["params"] == {}  # a runner's own params: never set


def test_validation_errors_and_warnings_are_unchanged_by_the_scans(echo_nodes: None) -> None:
    ir = _chain(3)
    ir["nodes"][1]["params"] = {"message": "${n0.nope} ${n9.echo}", "cuont": 1}
    ir["nodes"][2]["params"] = {"message": "${n1.echo", "data": {"x": ["${n0.echo.deep}"]}}
    scan = TemplateScan()
    texts = [scan.scan(node["params"]) for node in ir["nodes"]]
    warnings = validation._unterminated(ir, scan, texts)
    assert warnings == [
        "Node 'n2', param 'message': '${n1.echo' has no closing '}', so it is used as "
        "literal text (at /nodes/2/params/message)"
    ]
    with pytest.raises(TemplateValidationError) as info:
        validation.validate_workflow(ir, Registry())
    assert [p.message for p in info.value.problems] == [
        "Node 'n1', param 'message': ${n0.nope} uses output 'nope', which node type 'echo' "
        "does not write",
        "Node 'n1', param 'message': ${n9.echo} refers to 'n9', which is neither a declared "
        "input nor a node id",
        "Node 'n2', param 'data/x/0': ${n0.echo.deep} walks into output 'echo', which is a string",
    ]


def test_every_pair_of_corpus_texts_resolves_like_the_oracle() -> None:
    for first, second in itertools.product(TEXTS[:12], TEXTS[24:]):
        params = {"one": first, "two": [second, {"three": first + second}]}
        assert _planned(params, _plans(params)) == _expected(params)
