"""Registry: node type name -> NodeSpec, with node classes imported only when used.

Built-in types come from `pflow.registry.catalog`. Third-party packages add types through the
entry-point group `pflow.nodes`; each entry point must load a `NodeSpec` (a cheap object), and the
spec names the module and class that implement the node. A plugin that fails to load is skipped
with a warning in `Registry.problems`, and is an error only when a workflow uses it.
"""

from __future__ import annotations

import importlib
import os

from pflow.foundation.exceptions import CompilationError
from pflow.nodes.base import PflowNode
from pflow.nodes.spec import NodeSpec
from pflow.registry.catalog import BUILTIN_SPECS

ENTRY_POINT_GROUP = "pflow.nodes"
_TRUE = {"1", "true", "yes", "on"}

__all__ = ["ENTRY_POINT_GROUP", "Registry", "include_test_nodes"]


def include_test_nodes() -> bool:
    """Whether hidden test nodes (such as `echo`) are usable: PFLOW_INCLUDE_TEST_NODES=1."""
    return os.environ.get("PFLOW_INCLUDE_TEST_NODES", "").strip().lower() in _TRUE


class Registry:
    """Lookup table of node types."""

    def __init__(self, specs: tuple[NodeSpec, ...] | None = None) -> None:
        self._builtins = {s.name: s for s in (BUILTIN_SPECS if specs is None else specs)}
        self._plugins: dict[str, NodeSpec] | None = None if specs is None else {}
        self._classes: dict[str, type[PflowNode]] = {}
        self.problems: list[str] = []

    def load(self) -> dict[str, NodeSpec]:
        """Every usable node type name with its spec, sorted by name."""
        merged = {**self._plugin_specs(), **self._visible(self._builtins)}
        return dict(sorted(merged.items()))

    def get(self, name: str) -> NodeSpec | None:
        """Spec of node type `name`, or None when no usable node type has that name."""
        spec = self._builtins.get(name)
        if spec is not None:
            return spec if (not spec.hidden or include_test_nodes()) else None
        return self._plugin_specs().get(name)

    def require(self, name: str) -> NodeSpec:
        """Spec of `name`, or a CompilationError naming the closest known types."""
        spec = self.get(name)
        if spec is not None:
            return spec
        import difflib

        known = list(self.load())
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise CompilationError(
            f"Unknown node type '{name}'",
            hint=f"{hint}Known node types: {', '.join(known)}",
            node_type=name,
        )

    def node_class(self, spec: NodeSpec) -> type[PflowNode]:
        """Import and return the class implementing `spec` (cached)."""
        cls = self._classes.get(spec.name)
        if cls is None:
            try:
                module = importlib.import_module(spec.module)
                found = getattr(module, spec.class_name)
            except (ImportError, AttributeError) as exc:
                raise CompilationError(
                    f"Node type '{spec.name}' could not be loaded from "
                    f"{spec.module}.{spec.class_name}: {exc}",
                    hint="Reinstall the package that provides this node type",
                    node_type=spec.name,
                ) from exc
            cls = found if _is_pflow_node(found) else _adapted(spec, found)
            self._classes[spec.name] = cls
        return cls

    def _visible(self, specs: dict[str, NodeSpec]) -> dict[str, NodeSpec]:
        show_hidden = include_test_nodes()
        return {n: s for n, s in specs.items() if show_hidden or not s.hidden}

    def _plugin_specs(self) -> dict[str, NodeSpec]:
        if self._plugins is None:
            from importlib.metadata import entry_points  # only when a type is not built in

            self._plugins = {}
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    spec = ep.load()
                except Exception as exc:  # a broken plugin must not break other workflows
                    self.problems.append(f"node plugin '{ep.name}' failed to load: {exc}")
                    continue
                if not isinstance(spec, NodeSpec):
                    self.problems.append(f"node plugin '{ep.name}' is not a pflow NodeSpec")
                    continue
                if spec.name not in self._builtins:
                    self._plugins[spec.name] = spec
            self._plugins = self._visible(self._plugins)
        return self._plugins


def _is_pflow_node(found: object) -> bool:
    return isinstance(found, type) and issubclass(found, PflowNode)


def _adapted(spec: NodeSpec, found: object) -> type[PflowNode]:
    """`found` (a PocketFlow-style node class) wrapped to run as a PflowNode."""
    from pflow.nodes.foreign import adapt, not_runnable

    problem = not_runnable(found)
    if problem is not None:
        raise CompilationError(
            f"Node type '{spec.name}' ({spec.module}.{spec.class_name}) cannot run: {problem}",
            hint="A node class needs prep/exec/post; subclass pflow.nodes.base.PflowNode",
            node_type=spec.name,
        )
    assert isinstance(found, type)
    return adapt(found)
