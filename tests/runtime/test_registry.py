"""Registry: built-in and plugin node types, hidden test nodes, lazy imports (`pflow.registry`)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from pflow.foundation.exceptions import CompilationError
from pflow.nodes.spec import NodeSpec, OutputSpec
from pflow.registry import ENTRY_POINT_GROUP, Registry, include_test_nodes
from pflow.registry.catalog import BUILTIN_SPECS

BUILTINS = [
    "copy-file",
    "delete-file",
    "http",
    "llm",
    "move-file",
    "read-file",
    "shell",
    "write-file",
]

# --- built-ins ----------------------------------------------------------------------------


def test_load_lists_builtins_sorted_without_echo(registry: Registry) -> None:
    loaded = registry.load()
    assert list(loaded) == sorted(loaded)
    assert list(loaded) == BUILTINS
    assert all(loaded[name].name == name for name in loaded)


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " 1 "])
def test_echo_is_listed_with_test_nodes(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PFLOW_INCLUDE_TEST_NODES", value)
    assert include_test_nodes()
    loaded = Registry().load()
    assert list(loaded) == sorted([*BUILTINS, "echo"])
    assert Registry().get("echo") is not None


@pytest.mark.parametrize("value", ["", "0", "false", "no", "2"])
def test_echo_stays_hidden_otherwise(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PFLOW_INCLUDE_TEST_NODES", value)
    assert not include_test_nodes()
    assert "echo" not in Registry().load()
    assert Registry().get("echo") is None


def test_get_returns_the_spec(registry: Registry) -> None:
    spec = registry.get("shell")
    assert spec is not None
    assert spec.module == "pflow.nodes.shell"
    assert spec.output_names() == ["stdout", "stderr", "exit_code", "error"]
    assert registry.get("nosuch") is None


def test_require_known_type(registry: Registry) -> None:
    assert registry.require("read-file").name == "read-file"


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("shel", "'shell'"), ("read_file", "'read-file'")]
)
def test_require_unknown_type_suggests_a_close_match(
    registry: Registry, typo: str, suggestion: str
) -> None:
    with pytest.raises(CompilationError) as info:
        registry.require(typo)
    err = info.value
    assert err.message == f"Unknown node type '{typo}'"
    assert err.node_type == typo
    assert err.exit_code == 3
    assert err.hint is not None
    assert err.hint.startswith(f"Did you mean {suggestion}")
    assert err.hint.endswith("Known node types: " + ", ".join(BUILTINS))


def test_require_unknown_type_without_close_match_lists_known_types(registry: Registry) -> None:
    with pytest.raises(CompilationError) as info:
        registry.require("zzzzzz")
    assert info.value.hint == "Known node types: " + ", ".join(BUILTINS)


def test_require_hidden_echo_without_test_nodes(registry: Registry) -> None:
    with pytest.raises(CompilationError, match="Unknown node type 'echo'"):
        registry.require("echo")


def test_node_class_imports_and_caches(registry: Registry) -> None:
    spec = registry.require("shell")
    cls = registry.node_class(spec)
    assert cls.__name__ == "ShellNode"
    assert cls.__module__ == "pflow.nodes.shell"
    assert registry.node_class(spec) is cls


@pytest.mark.parametrize(
    ("module", "class_name"),
    [("pflow.nodes.does_not_exist", "X"), ("pflow.nodes.shell", "NoSuchClass")],
)
def test_node_class_that_cannot_load_is_a_compilation_error(
    registry: Registry, module: str, class_name: str
) -> None:
    spec = NodeSpec(
        name="broken", module=module, class_name=class_name, description="", package="x"
    )
    with pytest.raises(CompilationError) as info:
        registry.node_class(spec)
    assert info.value.node_type == "broken"
    assert f"{module}.{class_name}" in info.value.message


def test_every_builtin_spec_points_at_a_real_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PFLOW_INCLUDE_TEST_NODES", "1")
    registry = Registry()
    for spec in BUILTIN_SPECS:
        cls = registry.node_class(spec)
        assert cls.__name__ == spec.class_name
        assert cls.__module__ == spec.module


# --- lazy imports -------------------------------------------------------------------------

_LAZY_CHECK = textwrap.dedent(
    """
    import json, sys
    from pflow.registry import Registry
    registry = Registry()
    loaded = registry.load()
    for name in loaded:
        registry.require(name)
    modules = sorted({spec.module for spec in loaded.values()})
    heavy = ["llm", "httpx"]
    before = [m for m in modules + heavy if m in sys.modules]
    registry.node_class(registry.require("shell"))
    after = [m for m in modules + heavy if m in sys.modules]
    print(json.dumps({"names": list(loaded), "modules": modules, "before": before,
                      "after": after}))
    """
)


def test_node_modules_are_imported_lazily() -> None:
    env = {"PATH": "/usr/bin:/bin", "PFLOW_INCLUDE_TEST_NODES": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _LAZY_CHECK],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["names"] == sorted([*BUILTINS, "echo"])
    assert "pflow.nodes.shell" in result["modules"]
    # Listing and looking up every type imports no node implementation and no heavy library.
    assert result["before"] == []
    # Asking for a class imports exactly that node's module.
    assert result["after"] == ["pflow.nodes.shell"]


# --- entry-point plugins ------------------------------------------------------------------

PLUGIN = NodeSpec(
    name="plugin-node",
    module="pflow.nodes.shell",
    class_name="ShellNode",
    description="A third-party node",
    package="plugin",
    outputs=(OutputSpec("stdout", "string", ""),),
)
SHADOW = NodeSpec(
    name="shell",
    module="plugin.shadow",
    class_name="Shadow",
    description="A plugin trying to replace a built-in",
    package="plugin",
)
HIDDEN_PLUGIN = NodeSpec(
    name="hidden-plugin",
    module="plugin.hidden",
    class_name="Hidden",
    description="A hidden plugin test node",
    package="plugin",
    hidden=True,
)
NOT_A_SPEC = {"name": "dict-plugin"}


class BrokenEntryPoint:
    name = "broken"

    def load(self) -> Any:
        raise ImportError("No module named 'missing_plugin_dep'")


def _entry(name: str, attr: str) -> EntryPoint:
    return EntryPoint(name=name, value=f"{__name__}:{attr}", group=ENTRY_POINT_GROUP)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fake installed plugins; returns the list of groups the registry asked for."""
    asked: list[str] = []
    found = [
        _entry("plugin-node", "PLUGIN"),
        _entry("shadow", "SHADOW"),
        _entry("hidden", "HIDDEN_PLUGIN"),
        _entry("dict", "NOT_A_SPEC"),
        BrokenEntryPoint(),
    ]

    def fake_entry_points(*, group: str) -> list[Any]:
        asked.append(group)
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    return asked


def test_plugins_are_listed_with_builtins(plugins: list[str]) -> None:
    registry = Registry()
    loaded = registry.load()
    assert plugins == [ENTRY_POINT_GROUP]
    assert list(loaded) == sorted([*BUILTINS, "plugin-node"])
    assert loaded["plugin-node"] is PLUGIN
    assert registry.get("plugin-node") is PLUGIN
    assert registry.require("plugin-node") is PLUGIN
    assert registry.node_class(PLUGIN).__name__ == "ShellNode"


def test_plugins_are_read_once_per_registry(plugins: list[str]) -> None:
    registry = Registry()
    registry.load()
    registry.get("plugin-node")
    registry.load()
    assert plugins == [ENTRY_POINT_GROUP]


def test_plugin_cannot_replace_a_builtin(plugins: list[str]) -> None:
    registry = Registry()
    assert registry.load()["shell"].module == "pflow.nodes.shell"
    assert registry.require("shell").module == "pflow.nodes.shell"


def test_broken_plugins_are_reported_not_fatal(plugins: list[str]) -> None:
    registry = Registry()
    assert "plugin-node" in registry.load()
    assert registry.problems == [
        "node plugin 'dict' is not a pflow NodeSpec",
        "node plugin 'broken' failed to load: No module named 'missing_plugin_dep'",
    ]
    assert "dict-plugin" not in registry.load()


def test_hidden_plugin_follows_the_test_node_switch(
    plugins: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Registry().get("hidden-plugin") is None
    assert "hidden-plugin" not in Registry().load()
    monkeypatch.setenv("PFLOW_INCLUDE_TEST_NODES", "1")
    assert Registry().get("hidden-plugin") is HIDDEN_PLUGIN
    assert "hidden-plugin" in Registry().load()


def test_unknown_type_hint_includes_plugins(plugins: list[str]) -> None:
    with pytest.raises(CompilationError) as info:
        Registry().require("plugin-nod")
    assert info.value.hint is not None
    assert info.value.hint.startswith("Did you mean 'plugin-node'?")


def test_registry_with_explicit_specs_ignores_plugins(plugins: list[str]) -> None:
    registry = Registry(specs=(PLUGIN,))
    assert list(registry.load()) == ["plugin-node"]
    assert registry.get("shell") is None
    assert plugins == []
