"""Template syntax, lookup, rendering and resolution (`pflow.runtime.templates`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pflow.foundation.exceptions import NodeExecutionError, TemplateResolutionError
from pflow.runtime.templates import (
    Template,
    find_templates,
    has_templates,
    iter_templates,
    lookup,
    parse_path,
    parse_source,
    render,
    resolve_params,
    resolve_value,
)

# --- syntax -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${name}", [("name",)]),
        ("${node.key}", [("node", "key")]),
        ("${node.items[0].name}", [("node", "items", 0, "name")]),
        ("${m[1][2]}", [("m", 1, 2)]),
        ("${_private}", [("_private",)]),
        ("${my-node.out_1}", [("my-node", "out_1")]),
        ("a ${x} b ${y.z} c", [("x",), ("y", "z")]),
        ("${x}${x}", [("x",), ("x",)]),
    ],
)
def test_find_templates_parses_paths(text: str, expected: list[tuple[Any, ...]]) -> None:
    assert [t.path for t in find_templates(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "${}",
        "${1abc}",
        "${a..b}",
        "${a.}",
        "${.a}",
        "${a b}",
        "${a[x]}",
        "${-a}",
        "$x",
        "{x}",
        "${x",
        "${HOME:-/tmp}",  # shell parameter expansion stays shell syntax
        "${#list}",
        "$(date)",
    ],
)
def test_text_that_is_not_a_template(text: str) -> None:
    assert find_templates(text) == []


def test_find_templates_keeps_the_template_text() -> None:
    found = find_templates("cat ${read.content} | wc")
    assert found == [Template("${read.content}", ("read", "content"))]
    assert found[0].base == "read"


def test_escaped_template_is_not_found() -> None:
    assert find_templates("cost $${x} here") == []
    assert [t.text for t in find_templates("$${x} and ${y}")] == ["${y}"]


def test_parse_path_splits_names_and_indexes() -> None:
    assert parse_path("a.b[0].c") == ("a", "b", 0, "c")
    assert parse_path("m[1][2]") == ("m", 1, 2)
    assert parse_path("single") == ("single",)


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("${g.stdout}", ("g", "stdout")),
        ("$g.stdout", ("g", "stdout")),
        ("g.stdout", ("g", "stdout")),
        ("  ${obj.a[1].c}  ", ("obj", "a", 1, "c")),
        ("name", ("name",)),
    ],
)
def test_parse_source_accepts_three_spellings(source: str, path: tuple[Any, ...]) -> None:
    template = parse_source(source)
    assert template is not None
    assert template.path == path
    assert template.text == source


@pytest.mark.parametrize("source", ["", "   ", "${a b}", "a..b", "${}", "1abc", "${a}.b}"])
def test_parse_source_rejects_malformed(source: str) -> None:
    assert parse_source(source) is None


def test_has_templates_looks_at_every_depth() -> None:
    assert has_templates("x ${a}")
    assert has_templates({"a": {"b": ["no", "${deep}"]}})
    assert has_templates(["$${escaped}"])  # still needs processing: the escape is removed
    assert not has_templates({"a": ["plain", 1, None, True], "b": {"c": 2.5}})
    assert not has_templates({"${key}": "keys are never templates"})
    assert not has_templates(42)


def test_iter_templates_gives_json_pointers() -> None:
    params = {
        "command": "echo ${a.stdout}",
        "env": {"FOO": "${flag}", "a/b~c": "${weird}"},
        "items": ["x", {"y": "${n[0]}"}],
        "count": 3,
    }
    found = [(where, t.text) for where, t in iter_templates(params)]
    assert found == [
        ("/command", "${a.stdout}"),
        ("/env/FOO", "${flag}"),
        ("/env/a~1b~0c", "${weird}"),
        ("/items/1/y", "${n[0]}"),
    ]


# --- lookup -------------------------------------------------------------------------------

CONTEXT: dict[str, Any] = {
    "obj": {"a": {"b": [1, {"c": "deep!"}]}, "nothing": None},
    "lst": ["x", "y"],
    "n": 5,
    "empty": "",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("obj", "a", "b", 1, "c"), (True, "deep!")),
        (("obj", "a", "b", 0), (True, 1)),
        (("lst", 1), (True, "y")),
        (("obj", "nothing"), (True, None)),
        (("empty",), (True, "")),
        (("n",), (True, 5)),
        (("missing",), (False, None)),
        (("obj", "zz"), (False, None)),
        (("lst", 2), (False, None)),
        (("obj", 0), (False, None)),  # index into a dict
        (("lst", "a"), (False, None)),  # key into a list
        (("n", "x"), (False, None)),  # key into a number
        (("obj", "nothing", "x"), (False, None)),  # null in the middle
        (("empty", 0), (False, None)),  # strings are not indexable
    ],
)
def test_lookup(path: tuple[Any, ...], expected: tuple[bool, Any]) -> None:
    assert lookup(CONTEXT, path) == expected


# --- rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("", ""),
        ("text", "text"),
        (True, "true"),
        (False, "false"),
        (5, "5"),
        (-7, "-7"),
        (3.14, "3.14"),
        (1000.0, "1000.0"),
        ({"a": 1}, '{"a": 1}'),
        (["x", "y"], '["x", "y"]'),
        ({"a": {"b": [1, {"c": "deep!"}]}}, '{"a": {"b": [1, {"c": "deep!"}]}}'),
        ({"k": None, "t": True}, '{"k": null, "t": true}'),
        (["héllo"], '["héllo"]'),
    ],
)
def test_render(value: Any, text: str) -> None:
    assert render(value) == text


# --- resolution ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${n}", 5),
        ("${flag}", True),
        ("${obj}", {"a": 1}),
        ("${lst}", [1, "two"]),
        ("${none}", None),
        ("${f}", 2.5),
        ("${lst[1]}", "two"),
    ],
)
def test_whole_string_template_keeps_type(value: str, expected: Any) -> None:
    context = {"n": 5, "flag": True, "obj": {"a": 1}, "lst": [1, "two"], "none": None, "f": 2.5}
    result = resolve_value(value, context)
    assert result == expected
    assert type(result) is type(expected)


def test_whole_string_template_keeps_type_at_any_depth() -> None:
    context = {"flag": True, "n": 5, "obj": {"a": [1]}}
    params = {"env": {"FOO": "${flag}"}, "list": [["${n}"], {"deep": {"o": "${obj}"}}]}
    resolved = resolve_value(params, context)
    assert resolved == {"env": {"FOO": True}, "list": [[5], {"deep": {"o": {"a": [1]}}}]}
    assert resolved["env"]["FOO"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("flag=${flag}", "flag=true"),
        ("off=${off}", "off=false"),
        ("obj=${obj}", 'obj={"a": 1}'),
        ("lst=${lst}", 'lst=[1, "two"]'),
        ("none=[${none}]", "none=[]"),
        ("n=${n}, f=${f}", "n=5, f=2.5"),
        ("${n}${n}", "55"),
        (" ${n}", " 5"),
        ("${s} and ${s}", "hi and hi"),
    ],
)
def test_templates_in_text_render_as_json(value: str, expected: str) -> None:
    context = {
        "flag": True,
        "off": False,
        "obj": {"a": 1},
        "lst": [1, "two"],
        "none": None,
        "n": 5,
        "f": 2.5,
        "s": "hi",
    }
    assert resolve_value(value, context) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$${x}", "${x}"),
        ("cost $${x} here", "cost ${x} here"),
        ("$${x} is ${x}", "${x} is 1"),
        ("$${missing.path[0]}", "${missing.path[0]}"),
    ],
)
def test_escaped_template_renders_literally(value: str, expected: str) -> None:
    assert resolve_value(value, {"x": 1}) == expected


def test_resolved_values_are_not_resolved_again() -> None:
    context = {"a": "${b}", "b": "secret"}
    assert resolve_value("${a}", context) == "${b}"
    assert resolve_value("v=${a}", context) == "v=${b}"


def test_resolution_leaves_non_strings_and_keys_alone() -> None:
    params = {"${k}": "plain", "n": 3, "b": False, "z": None, "l": [1.5]}
    assert resolve_value(params, {"k": "x"}) == params


def test_resolution_does_not_mutate_the_params() -> None:
    params = {"a": {"b": ["${x}"]}}
    original = copy.deepcopy(params)
    resolve_value(params, {"x": 1})
    assert params == original


def test_resolve_params_resolves_against_context() -> None:
    params = {"command": "echo ${a.stdout}", "timeout": "${t}"}
    context = {"a": {"stdout": "hi"}, "t": 5}
    assert resolve_params(params, context, "b", "shell") == {"command": "echo hi", "timeout": 5}


@pytest.mark.parametrize(
    "params",
    [
        {"command": "echo ${nope}"},
        {"command": "${nope}"},
    ],
)
def test_unresolved_template_raises_naming_variable_node_and_param(params: dict[str, Any]) -> None:
    with pytest.raises(TemplateResolutionError) as info:
        resolve_params(params, {}, "greet", "shell")
    err = info.value
    assert isinstance(err, NodeExecutionError)
    assert "${nope}" in err.message
    assert "'greet'" in err.message
    assert "'command'" in err.message
    assert err.node_id == "greet"
    assert err.node_type == "shell"
    assert err.pointer == "/params/command"
    assert err.hint is not None and "nope=<value>" in err.hint


def test_unresolved_template_in_nested_param_points_at_it() -> None:
    params = {"env": {"a/b": "x", "FOO": "pre-${gone.x}"}}
    with pytest.raises(TemplateResolutionError) as info:
        resolve_params(params, {}, "n1", "shell")
    assert info.value.pointer == "/params/env/FOO"
    assert "'env/FOO'" in info.value.message


def test_unresolved_template_in_list_points_at_index() -> None:
    with pytest.raises(TemplateResolutionError) as info:
        resolve_params({"data": ["ok", "${x.y}"]}, {"x": {}}, "n1", "echo")
    assert info.value.pointer == "/params/data/1"


def test_missing_path_on_existing_value_has_a_path_hint() -> None:
    with pytest.raises(TemplateResolutionError) as info:
        resolve_params({"m": "${a.items[3].name}"}, {"a": {"items": []}}, "n", "echo")
    assert info.value.hint is not None
    assert "'a' exists" in info.value.hint
    assert "items[3].name" in info.value.hint


def test_missing_stdin_has_a_pipe_hint() -> None:
    with pytest.raises(TemplateResolutionError) as info:
        resolve_params({"command": "tr a-z A-Z <<< ${stdin}"}, {}, "up", "shell")
    assert info.value.hint is not None
    assert "Pipe" in info.value.hint


def test_null_in_the_middle_of_a_path_is_unresolved() -> None:
    with pytest.raises(TemplateResolutionError):
        resolve_params({"m": "${a.b.c}"}, {"a": {"b": None}}, "n", "echo")


def test_existing_null_value_resolves() -> None:
    assert resolve_params({"m": "${a.b}", "t": "[${a.b}]"}, {"a": {"b": None}}, "n", "echo") == {
        "m": None,
        "t": "[]",
    }


def test_escaped_template_never_raises() -> None:
    assert resolve_params({"command": "echo '$${HOME}'"}, {}, "n", "shell") == {
        "command": "echo '${HOME}'"
    }
