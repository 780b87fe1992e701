"""validate_workflow: names, ids, edges, node types and templates (`runtime.validation`)."""

from __future__ import annotations

from typing import Any

import pytest

from pflow.foundation.exceptions import (
    CompilationError,
    SchemaValidationError,
    TemplateValidationError,
)
from pflow.registry import Registry
from pflow.runtime.validation import validate_workflow


def node(node_id: str, node_type: str = "shell", **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "params": params}


def wf(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"ir_version": "0.1.0", "nodes": list(nodes), **extra}


def sh(node_id: str, command: str = "true", **params: Any) -> dict[str, Any]:
    return node(node_id, "shell", command=command, **params)


def problems(ir: dict[str, Any], registry: Registry, params: Any = None) -> list[str]:
    with pytest.raises(TemplateValidationError) as info:
        validate_workflow(ir, registry, params)
    return [p.message for p in info.value.problems]


# --- a valid workflow ---------------------------------------------------------------------


def test_valid_workflow_has_no_warnings(registry: Registry) -> None:
    ir = wf(
        sh("a", "echo hi"),
        sh("b", "echo ${a.stdout} ${a.exit_code}"),
        edges=[{"from": "a", "to": "b"}, {"from": "a", "to": "b", "action": "error"}],
        start_node="a",
    )
    assert validate_workflow(ir, registry) == []


def test_schema_is_checked_first(registry: Registry) -> None:
    ir = wf(node("a", "no-such-type", x="${missing}"), name="extra")
    with pytest.raises(SchemaValidationError, match="unknown key 'name'"):
        validate_workflow(ir, registry)


# --- declared inputs and outputs ----------------------------------------------------------


def test_unused_inputs_are_warnings_not_errors(registry: Registry) -> None:
    ir = wf(
        sh("a", "echo ${used}"),
        inputs={"used": {}, "zeta": {"default": 1}, "alpha": {"required": False}},
    )
    assert validate_workflow(ir, registry) == [
        "Declared input 'zeta' is never used",
        "Declared input 'alpha' is never used",
    ]


def test_input_used_by_nested_param_or_output_source_counts(registry: Registry) -> None:
    ir = wf(
        sh("a", "true", env={"X": ["${deep.path[0]}"]}),
        inputs={"deep": {"type": "object"}, "obj": {}},
        outputs={"whole": {"source": "obj"}},
    )
    assert validate_workflow(ir, registry) == []


def test_escaped_template_is_not_a_use_of_an_input(registry: Registry) -> None:
    ir = wf(sh("a", "echo $${name}"), inputs={"name": {}})
    assert validate_workflow(ir, registry) == ["Declared input 'name' is never used"]


@pytest.mark.parametrize(
    ("section", "name", "pointer"),
    [
        ("inputs", "a b", "/inputs/a b"),
        ("inputs", "x$y", "/inputs/x$y"),
        ("outputs", "x|y", "/outputs/x|y"),
        ("outputs", "a/b;", "/outputs/a~1b;"),
    ],
)
def test_input_and_output_names_follow_the_name_rule(
    registry: Registry, section: str, name: str, pointer: str
) -> None:
    ir = wf(sh("a"), **{section: {name: {}}})
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(ir, registry)
    assert info.value.pointer == pointer
    assert f"Invalid {section[:-1]} name {name!r}" in info.value.message


# --- node ids -----------------------------------------------------------------------------


def test_duplicate_node_ids(registry: Registry) -> None:
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(wf(sh("a"), sh("b"), sh("a")), registry)
    assert info.value.message == "Duplicate node id 'a'"
    assert info.value.pointer == "/nodes/2/id"
    assert info.value.node_id == "a"


def test_node_id_equal_to_an_input_name(registry: Registry) -> None:
    ir = wf(sh("name", "echo ${name}"), inputs={"name": {}})
    with pytest.raises(SchemaValidationError, match="declared input") as info:
        validate_workflow(ir, registry)
    assert info.value.pointer == "/nodes/0/id"


def test_node_id_stdin_is_rejected(registry: Registry) -> None:
    with pytest.raises(SchemaValidationError, match="piped stdin"):
        validate_workflow(wf(sh("stdin")), registry)


# --- edges and start node -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("edge", "pointer", "message"),
    [
        ({"from": "fetch", "to": "nope"}, "/edges/1/to", "unknown node 'nope' in 'to'"),
        ({"from": "fetc", "to": "save"}, "/edges/1/from", "unknown node 'fetc' in 'from'"),
    ],
)
def test_edges_must_name_existing_nodes(
    registry: Registry, edge: dict[str, str], pointer: str, message: str
) -> None:
    ir = wf(sh("fetch"), sh("save"), edges=[{"from": "fetch", "to": "save"}, edge])
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(ir, registry)
    assert message in info.value.message
    assert info.value.pointer == pointer


def test_unknown_edge_end_suggests_a_close_id(registry: Registry) -> None:
    ir = wf(sh("fetch"), sh("save"), edges=[{"from": "fetch", "to": "sav"}])
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(ir, registry)
    assert info.value.hint == "Did you mean 'save'?"


@pytest.mark.parametrize(
    "edges",
    [
        [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}],
        [{"from": "a", "to": "b"}, {"from": "a", "to": "c", "action": "default"}],
        [{"from": "a", "to": "b", "action": "error"}, {"from": "a", "to": "c", "action": "error"}],
    ],
)
def test_two_edges_with_the_same_source_and_action_are_an_error(
    registry: Registry, edges: list[dict[str, str]]
) -> None:
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(wf(sh("a"), sh("b"), sh("c"), edges=edges), registry)
    assert "Edges 0 and 1 both leave node 'a'" in info.value.message
    assert info.value.pointer == "/edges/1"
    assert info.value.node_id == "a"


def test_same_source_with_different_actions_is_fine(registry: Registry) -> None:
    edges = [
        {"from": "a", "to": "b"},
        {"from": "a", "to": "c", "action": "error"},
        {"from": "b", "to": "a", "action": "retry"},
        {"from": "c", "to": "c"},
    ]
    assert validate_workflow(wf(sh("a"), sh("b"), sh("c"), edges=edges), registry) == []


def test_edges_may_be_omitted(registry: Registry) -> None:
    assert validate_workflow(wf(sh("a")), registry) == []


def test_start_node_must_exist(registry: Registry) -> None:
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(wf(sh("first"), start_node="frist"), registry)
    assert info.value.pointer == "/start_node"
    assert info.value.hint == "Did you mean 'first'?"


# --- node types ---------------------------------------------------------------------------


def test_unknown_node_type_is_located(registry: Registry) -> None:
    with pytest.raises(CompilationError) as info:
        validate_workflow(wf(sh("ok"), node("bad", "shel", command="true")), registry)
    err = info.value
    assert err.message == "Node 'bad': Unknown node type 'shel'"
    assert err.node_id == "bad"
    assert err.node_type == "shel"
    assert err.pointer == "/nodes/1/type"
    assert err.hint is not None and err.hint.startswith("Did you mean 'shell'?")


def test_echo_is_unknown_without_test_nodes(registry: Registry) -> None:
    with pytest.raises(CompilationError, match="Unknown node type 'echo'"):
        validate_workflow(wf(node("e", "echo")), registry)


def test_echo_is_known_with_test_nodes(registry: Registry, echo_nodes: None) -> None:
    assert validate_workflow(wf(node("e", "echo", message="hi")), registry) == []


# --- templates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "${stdin}",
        "${e.data[0]}",  # output of type any may be indexed
        "${e.data.deep[1].x}",
        "${e.metadata.count}",  # output of type object may be walked into
        "${e.metadata}",
        "${p}",
        "${p.any.path[3]}",  # inside a run parameter nothing is checked
        "${obj.x}",
        "$${never_checked}",
        "$${e}",
    ],
)
def test_templates_that_validate(registry: Registry, echo_nodes: None, template: str) -> None:
    ir = wf(
        node("e", "echo", message="hi"),
        sh("s", f"echo {template}", env={"O": "${obj}"}),
        inputs={"obj": {"type": "object"}},
        edges=[{"from": "e", "to": "s"}],
    )
    assert validate_workflow(ir, registry, {"p": 1}) == []


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("${nope}", "refers to 'nope', which is neither a declared input nor a node id"),
        ("${e}", "names node 'e' but not one of its outputs"),
        ("${e[0]}", "names node 'e' but not one of its outputs"),
        ("${e.output}", "uses output 'output', which node type 'echo' does not write"),
        ("${a.stdout[0]}", "walks into output 'stdout', which is a string"),
        ("${a.exit_code.x}", "walks into output 'exit_code', which is an integer"),
        ("${e.echo.length}", "walks into output 'echo', which is a string"),
    ],
)
def test_templates_that_fail(
    registry: Registry, echo_nodes: None, template: str, fragment: str
) -> None:
    ir = wf(node("e", "echo"), sh("a"), sh("s", f"x {template}"))
    found = problems(ir, registry)
    assert found == [f"Node 's', param 'command': {template} {fragment}"]


def test_template_problem_is_located(registry: Registry) -> None:
    ir = wf(sh("a"), sh("b", "true", env={"FOO": "${a.nope}"}))
    with pytest.raises(TemplateValidationError) as info:
        validate_workflow(ir, registry)
    err = info.value
    assert err.node_id == "b"
    assert err.node_type == "shell"
    assert err.pointer == "/nodes/1/params/env/FOO"
    assert err.hint == "shell outputs: stdout, stderr, exit_code, error"


def test_unknown_name_hint_suggests_a_close_input(registry: Registry) -> None:
    ir = wf(sh("a", "echo ${nmae}"), inputs={"name": {}})
    with pytest.raises(TemplateValidationError) as info:
        validate_workflow(ir, registry)
    assert info.value.hint is not None
    assert info.value.hint.startswith("Did you mean 'name'?")


def test_every_template_problem_is_reported_at_once(registry: Registry) -> None:
    ir = wf(
        sh("a", "echo ${x} ${a.out}"),
        sh("b", "true", env={"Y": "${y}"}),
        outputs={"o": {"source": "${zz.top}"}},
    )
    with pytest.raises(TemplateValidationError) as info:
        validate_workflow(ir, registry)
    err = info.value
    assert len(err.problems) == 4
    assert err.message.startswith("4 template problems:\n")
    assert [p.pointer for p in err.problems] == [
        "/nodes/0/params/command",
        "/nodes/0/params/command",
        "/nodes/1/params/env/Y",
        "/outputs/o/source",
    ]


def test_run_parameters_make_templates_valid(registry: Registry) -> None:
    ir = wf(sh("a", "echo ${who}"))
    assert problems(ir, registry) != []
    assert validate_workflow(ir, registry, {"who": "me"}) == []


@pytest.mark.parametrize("source", ["${a.stdout}", "$a.exit_code", "a.stderr", "name", "${name.x}"])
def test_output_sources_that_validate(registry: Registry, source: str) -> None:
    ir = wf(sh("a", "echo ${name}"), inputs={"name": {}}, outputs={"o": {"source": source}})
    assert validate_workflow(ir, registry) == []


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("${a b}", "is not a reference like ${node.key}"),
        ("${a.nope}", "uses output 'nope'"),
        ("ghost.x", "refers to 'ghost'"),
    ],
)
def test_output_sources_that_fail(registry: Registry, source: str, fragment: str) -> None:
    ir = wf(sh("a"), outputs={"o": {"source": source}})
    found = problems(ir, registry)
    assert len(found) == 1
    assert found[0].startswith(f"Output 'o': source {source!r}")
    assert fragment in found[0]


def test_output_without_source_is_fine(registry: Registry) -> None:
    assert validate_workflow(wf(sh("a"), outputs={"o": {"description": "x"}}), registry) == []


def test_without_namespacing_bare_output_names_validate(registry: Registry) -> None:
    ir = wf(sh("a", "echo first"), sh("b", "echo ${stdout}"), enable_namespacing=False)
    assert validate_workflow(ir, registry) == []


def test_without_namespacing_unknown_names_still_fail(registry: Registry) -> None:
    ir = wf(sh("a"), sh("b", "echo ${content}"), enable_namespacing=False)
    assert len(problems(ir, registry)) == 1


# --- checking before any run (params_known=False) -----------------------------------------


def test_unknown_params_are_accepted_when_params_are_not_known(registry: Registry) -> None:
    ir = wf(sh("a", "echo ${who} ${cfg.path[0]}"))
    assert len(problems(ir, registry)) == 2
    assert validate_workflow(ir, registry, params_known=False) == []


def test_node_references_are_checked_even_when_params_are_not_known(registry: Registry) -> None:
    ir = wf(sh("a"), sh("b", "echo ${a.nope} ${who}"))
    with pytest.raises(TemplateValidationError) as info:
        validate_workflow(ir, registry, params_known=False)
    assert [p.message for p in info.value.problems] == [
        "Node 'b', param 'command': ${a.nope} uses output 'nope', which node type 'shell' does "
        "not write"
    ]


def test_declared_inputs_keep_the_check_strict(registry: Registry) -> None:
    ir = wf(sh("a", "echo ${name} ${who}"), inputs={"name": {}})
    with pytest.raises(TemplateValidationError, match=r"\$\{who\}"):
        validate_workflow(ir, registry, params_known=False)


def test_unknown_node_param_is_a_warning_with_a_suggestion(registry: Registry) -> None:
    warnings = validate_workflow(wf(sh("a", comand="echo x")), registry)
    assert warnings == [
        "Node 'a' (shell) has no parameter 'comand' (did you mean 'command'?); it is ignored"
    ]


def test_missing_required_literal_param_is_invalid(registry: Registry) -> None:
    ir = wf({"id": "a", "type": "shell", "params": {}})
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(ir, registry)
    assert info.value.message == "Node 'a' (shell) is missing required parameter 'command'"
    assert info.value.pointer == "/nodes/0/params/command"


def test_literal_param_of_the_wrong_type_is_invalid(registry: Registry) -> None:
    with pytest.raises(SchemaValidationError) as info:
        validate_workflow(wf(sh("a", timeout="soon")), registry)
    assert "parameter 'timeout' must be a number, got string 'soon'" in info.value.message
    assert info.value.pointer == "/nodes/0/params/timeout"


def test_templated_param_is_checked_only_at_run_time(registry: Registry) -> None:
    ir = wf(sh("a", timeout="${t}"), inputs={"t": {"type": "number"}})
    assert validate_workflow(ir, registry, {"t": 5}) == []


def test_node_reference_without_namespacing_explains_the_root(registry: Registry) -> None:
    ir = wf(sh("a", "echo one"), sh("b", "echo ${a.stdout}"), enable_namespacing=False)
    with pytest.raises(TemplateValidationError) as info:
        validate_workflow(ir, registry)
    assert 'with "enable_namespacing": false node outputs are written to the store root' in (
        info.value.message
    )
    assert info.value.hint == "Refer to the output by its own name, e.g. ${stdout}"
