"""compile_ir_to_flow: a workflow IR (JSON text or dict) becomes a runnable WorkflowFlow."""

from __future__ import annotations

import json
from typing import Any

from pflow.foundation.exceptions import CompilationError, WorkflowSyntaxError
from pflow.nodes.base import PflowNode
from pflow.nodes.spec import NodeSpec
from pflow.registry import Registry
from pflow.runtime.flow import WorkflowFlow
from pflow.runtime.hooks import RunHooks
from pflow.runtime.node_runner import NodeMetrics, NodeRunner
from pflow.runtime.templates import TemplateScan, TextRefs
from pflow.runtime.trace import WorkflowTraceCollector
from pflow.runtime.validation import check_workflow, effective_edges


def compile_ir_to_flow(
    ir_json: str | dict[str, Any],
    registry: Registry | None = None,
    initial_params: dict[str, Any] | None = None,
    validate: bool = True,
    metrics_collector: NodeMetrics | None = None,
    trace_collector: WorkflowTraceCollector | None = None,
    hooks: RunHooks | None = None,
    *,
    schema_checked: bool = False,
) -> WorkflowFlow:
    """Validate (unless `validate` is False) and compile an IR into a WorkflowFlow.

    `ir_json` may be JSON text, an IR dict, or a saved-workflow wrapper (a dict with an `ir`
    key). `initial_params` are the run parameters templates may refer to: each walk of the
    returned flow adds those its store lacks to the store root, so `flow.run({})` resolves
    `${name}` from them. `hooks` receive progress events and LLM calls. The returned flow's
    `warnings` lists non-fatal findings such as declared inputs that nothing uses.
    `schema_checked=True` says the caller has just checked `ir_json` against the IR schema.
    """
    ir = unwrap_ir(_parse(ir_json) if isinstance(ir_json, str) else ir_json)
    registry = registry or Registry()
    # Validation walks every node's params once (TemplateScan); the runners reuse the scan.
    checked = (
        check_workflow(ir, registry, initial_params, schema_checked=schema_checked)
        if validate
        else None
    )
    warnings = checked.warnings if checked is not None else []
    scan = checked.templates if checked is not None else TemplateScan()
    texts: dict[str, TextRefs] = {}  # by node id, like `runners`
    namespaced = bool(ir.get("enable_namespacing", True))
    runners: dict[str, NodeRunner] = {}
    # Each node type is looked up and its class imported once; the first node of a type that
    # fails raises, as looking it up for every node would.
    classes: dict[str, tuple[NodeSpec, type[PflowNode]]] = {}
    for index, node in enumerate(ir["nodes"]):
        found = classes.get(node["type"])
        if found is None:
            spec = registry.require(node["type"])
            found = classes[node["type"]] = (spec, registry.node_class(spec))
        spec, node_cls = found
        pflow_node = node_cls(spec, node["id"])
        params = node.get("params") or {}
        texts[node["id"]] = checked.texts[index] if checked is not None else scan.scan(params)
        runners[node["id"]] = NodeRunner(
            pflow_node,
            params,
            namespaced=namespaced,
            metrics=metrics_collector,
            trace=trace_collector,
            pointer=f"/nodes/{index}",
            plans=scan.plans,
        )
    if namespaced:
        for node_id, runner in runners.items():
            runner.depends_on = frozenset(scan.bases(texts[node_id]) & runners.keys())
    for edge in effective_edges(ir):
        runners[edge["from"]].successors[edge.get("action", "default")] = runners[edge["to"]]
    start_id = ir.get("start_node") or ir["nodes"][0]["id"]
    if start_id not in runners:
        raise CompilationError(
            f"start_node '{start_id}' is not a node of this workflow", pointer="/start_node"
        )
    flow = WorkflowFlow(runners[start_id], ir, warnings, initial_params)
    flow.hooks = hooks
    return flow


def unwrap_ir(data: Any) -> dict[str, Any]:
    """The IR inside a saved-workflow wrapper, or `data` itself."""
    if isinstance(data, dict) and isinstance(data.get("ir"), dict):
        inner: dict[str, Any] = data["ir"]
        return inner
    if not isinstance(data, dict):
        raise CompilationError(
            f"A workflow must be a JSON object, got {type(data).__name__}",
            hint='Start from {"ir_version": "0.1.0", "nodes": [...]}',
            pointer="",
        )
    return data


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowSyntaxError(
            f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
