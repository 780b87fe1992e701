"""Checks a workflow IR must pass before it runs: schema, references, node types, templates."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pflow.foundation.exceptions import (
    CompilationError,
    PflowError,
    SchemaValidationError,
    TemplateValidationError,
)
from pflow.nodes.base import param_problem
from pflow.nodes.spec import NodeSpec
from pflow.registry import Registry
from pflow.runtime.inputs import name_problem
from pflow.runtime.ir_schema import validate_ir_schema
from pflow.runtime.templates import (
    PathPart,
    TemplateScan,
    TextRefs,
    has_templates,
    parse_source,
    unterminated_templates,
)

# Root keys every run may reference without declaring them: piped data.
RUNTIME_ROOT_KEYS = frozenset({"stdin"})
# Output types whose inside a template may walk into (`${node.out.field}`, `${node.out[0]}`).
_WALKABLE = frozenset({"object", "array", "any"})


def validate_workflow(
    ir: Any,
    registry: Registry,
    initial_params: dict[str, Any] | None = None,
    *,
    params_known: bool = True,
) -> list[str]:
    """Raise the first structural error, or every template error at once; return warnings.

    `params_known=False` (checking a workflow before any run, e.g. when saving it) accepts
    templates naming undeclared root values in a workflow that declares no inputs, since
    such a workflow takes its parameters from the command line.
    """
    return check_workflow(ir, registry, initial_params, params_known=params_known).warnings


@dataclass(frozen=True)
class CheckedWorkflow:
    """What validating a workflow found on the way, so compiling it need not find it again."""

    warnings: list[str]
    specs: dict[str, NodeSpec]  # node id -> spec of its type
    templates: TemplateScan  # the plans of every templated string
    texts: list[TextRefs]  # each node's templated strings, in the order of `ir["nodes"]`


def check_workflow(
    ir: Any,
    registry: Registry,
    initial_params: dict[str, Any] | None = None,
    *,
    params_known: bool = True,
    schema_checked: bool = False,
) -> CheckedWorkflow:
    """validate_workflow, also returning the node specs and the template scan it made.

    `schema_checked=True` skips the schema check, for a caller that has just made it.
    """
    if not schema_checked:
        validate_ir_schema(ir)
    _check_names(ir)
    ids = _check_node_ids(ir)
    _check_edges(ir, ids)
    specs = _check_node_types(ir, registry)
    param_warnings = _check_node_params(ir, specs)
    # Every node's params are walked and their templates parsed once, here; the checks below
    # and the compiler reuse the scan.
    scan = TemplateScan()
    texts = [scan.scan(node.get("params") or {}) for node in ir["nodes"]]
    lenient = not params_known and not ir.get("inputs")
    _check_templates(ir, specs, set(initial_params or {}), scan, texts, lenient)
    warnings = (
        param_warnings
        + _unterminated(ir, scan, texts)
        + _unused_inputs(ir, scan)
        + _unreachable_nodes(ir)
    )
    return CheckedWorkflow(warnings, specs, scan, texts)


def _unterminated(ir: dict[str, Any], scan: TemplateScan, texts: list[TextRefs]) -> list[str]:
    """A warning for each `${name` that never closes: it runs as literal text."""
    found: list[str] = []
    for index, (node, refs) in enumerate(zip(ir["nodes"], texts, strict=True)):
        # Only strings holding `${` can hold an unterminated template: the scan has them all.
        # A string that is exactly one template holds none (its only `${` is closed), so it
        # is not searched.
        for where, text in refs:
            if scan.whole(text):
                continue
            found.extend(
                f"Node '{node['id']}', param '{where.lstrip('/')}': '{fragment}' has no "
                f"closing '}}', so it is used as literal text (at /nodes/{index}/params{where})"
                for fragment in unterminated_templates(text)
            )
    return found


def effective_edges(ir: dict[str, Any]) -> list[dict[str, Any]]:
    """The IR's edges; when the `edges` key is absent, the nodes form a chain in list order."""
    if "edges" in ir:
        return list(ir["edges"] or [])
    nodes = ir["nodes"]
    return [{"from": a["id"], "to": b["id"]} for a, b in itertools.pairwise(nodes)]


def _unreachable_nodes(ir: dict[str, Any]) -> list[str]:
    successors: dict[str, list[str]] = {}
    for edge in effective_edges(ir):
        successors.setdefault(edge["from"], []).append(edge["to"])
    start = ir.get("start_node") or ir["nodes"][0]["id"]
    seen, todo = {start}, [start]
    while todo:
        for nxt in successors.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return [
        f"Node '{n['id']}' can never run: no edge leads to it from '{start}'"
        for n in ir["nodes"]
        if n["id"] not in seen
    ]


def _check_names(ir: dict[str, Any]) -> None:
    for section in ("inputs", "outputs"):
        for name in ir.get(section) or {}:
            why = name_problem(name)
            if why:
                raise SchemaValidationError(
                    f"Invalid {section[:-1]} name {name!r}: {why}",
                    hint="Use letters, digits, '_' and '-'",
                    pointer=f"/{section}/{_escape(name)}",
                )


def _check_node_ids(ir: dict[str, Any]) -> list[str]:
    ids: dict[str, None] = {}  # ordered like a list, O(1) membership like a set
    inputs = ir.get("inputs") or {}
    for index, node in enumerate(ir["nodes"]):
        node_id = node["id"]
        if node_id in ids:
            raise SchemaValidationError(
                f"Duplicate node id '{node_id}'",
                hint="Give every node a unique id",
                pointer=f"/nodes/{index}/id",
                node_id=node_id,
            )
        if node_id in inputs or node_id in RUNTIME_ROOT_KEYS:
            raise SchemaValidationError(
                f"Node id '{node_id}' is also the name of "
                + ("a declared input" if node_id in inputs else "piped stdin"),
                hint="Rename the node or the input: templates could not tell them apart",
                pointer=f"/nodes/{index}/id",
                node_id=node_id,
            )
        ids[node_id] = None
    return list(ids)


def _check_edges(ir: dict[str, Any], ids: list[str]) -> None:
    seen: dict[tuple[str, str], int] = {}
    known = set(ids)
    for index, edge in enumerate(ir.get("edges") or []):
        for end in ("from", "to"):
            if edge[end] not in known:
                raise SchemaValidationError(
                    f"Edge {index} refers to unknown node '{edge[end]}' in '{end}'",
                    hint=_choices(edge[end], ids),
                    pointer=f"/edges/{index}/{end}",
                )
        key = (edge["from"], edge.get("action", "default"))
        if key in seen:
            raise SchemaValidationError(
                f"Edges {seen[key]} and {index} both leave node '{key[0]}' on action '{key[1]}'",
                hint="A node follows one edge per action: remove one edge or give it "
                "another action",
                pointer=f"/edges/{index}",
                node_id=key[0],
            )
        seen[key] = index
    start = ir.get("start_node")
    if start is not None and start not in known:
        raise SchemaValidationError(
            f"start_node '{start}' is not a node of this workflow",
            hint=_choices(start, ids),
            pointer="/start_node",
        )


def _check_node_types(ir: dict[str, Any], registry: Registry) -> dict[str, NodeSpec]:
    specs: dict[str, NodeSpec] = {}
    by_type: dict[str, NodeSpec] = {}  # each type looked up once; an unknown one raises
    for index, node in enumerate(ir["nodes"]):
        try:
            spec = by_type.get(node["type"])
            if spec is None:
                spec = by_type[node["type"]] = registry.require(node["type"])
            specs[node["id"]] = spec
        except CompilationError as exc:
            exc.node_id = node["id"]
            exc.pointer = f"/nodes/{index}/type"
            exc.message = f"Node '{node['id']}': {exc.message}"
            raise
    return specs


def _check_node_params(ir: dict[str, Any], specs: dict[str, NodeSpec]) -> list[str]:
    """Literal params must fit the node type; unknown params are ignored with a warning."""
    warnings: list[str] = []
    known_by_spec: dict[int, tuple[list[str], frozenset[str]]] = {}  # by id(spec)
    for index, node in enumerate(ir["nodes"]):
        spec, params = specs[node["id"]], node.get("params") or {}
        names = known_by_spec.get(id(spec))
        if names is None:
            listed = [p.name for p in spec.params]
            names = known_by_spec[id(spec)] = (listed, frozenset(listed))
        known, known_set = names
        for name in params:
            if name not in known_set:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                also = f" (did you mean '{close[0]}'?)" if close else ""
                warnings.append(
                    f"Node '{node['id']}' ({spec.name}) has no parameter '{name}'{also}; "
                    "it is ignored"
                )
        for name in known:
            if has_templates(params.get(name)):
                continue  # checked when the node runs, once the template has a value
            problem = param_problem(spec, node["id"], name, params)
            if problem is not None:
                raise SchemaValidationError(
                    problem.message,
                    hint=problem.hint,
                    node_id=node["id"],
                    node_type=spec.name,
                    pointer=f"/nodes/{index}/params/{_escape(name)}",
                )
    return warnings


def _check_templates(
    ir: dict[str, Any],
    specs: dict[str, NodeSpec],
    params: set[str],
    scan: TemplateScan,
    texts: list[TextRefs],
    lenient: bool = False,
) -> None:
    roots = set(ir.get("inputs") or {}) | params | RUNTIME_ROOT_KEYS
    namespaced = ir.get("enable_namespacing", True)
    # Output names matter only without namespacing (outputs then land at the store root).
    distinct = {id(s): s for s in specs.values()}.values()  # many nodes share one spec
    written = set() if namespaced else {o for s in distinct for o in s.output_names()}
    # Problems by their message: a template repeated a million times is one problem, counted.
    problems: dict[str, PflowError] = {}
    counts: dict[str, int] = {}
    for index, (node, refs) in enumerate(zip(ir["nodes"], texts, strict=True)):
        checked: dict[tuple[str, str], PflowError | None] = {}  # each (pointer, template) once
        for where, text, path in scan.templates(refs):
            key = (where, text)
            if key not in checked:
                problem = _template_problem(path, specs, roots, written, namespaced)
                checked[key] = (
                    TemplateProblem(
                        f"Node '{node['id']}', param '{where.lstrip('/')}': {text} {problem[0]}",
                        hint=problem[1],
                        node_id=node["id"],
                        node_type=node["type"],
                        pointer=f"/nodes/{index}/params{where}",
                    )
                    if problem and not (lenient and str(path[0]) not in specs)
                    else None
                )
            found = checked[key]
            if found is not None:
                _count(problems, counts, found)
    for name, decl in (ir.get("outputs") or {}).items():
        source = decl.get("source")
        if not source:
            continue
        source_template = parse_source(source)
        problem = (
            _template_problem(source_template.path, specs, roots, written, namespaced)
            if source_template
            else ("is not a reference like ${node.key}", None)
        )
        lenient_skip = lenient and source_template and source_template.base not in specs
        if problem and not lenient_skip:
            found = TemplateProblem(
                f"Output '{name}': source {source!r} {problem[0]}",
                hint=problem[1],
                pointer=f"/outputs/{_escape(name)}/source",
            )
            _count(problems, counts, found)
    if problems:
        raise TemplateValidationError(list(problems.values()), [counts[m] for m in problems])


def _count(problems: dict[str, PflowError], counts: dict[str, int], found: PflowError) -> None:
    """Add `found`, or count it again when the same message was already found."""
    if found.message in problems:
        counts[found.message] += 1
    else:
        problems[found.message] = found
        counts[found.message] = 1


class TemplateProblem(PflowError):
    """One template that cannot resolve; collected into a TemplateValidationError."""


def _template_problem(
    path: tuple[PathPart, ...],
    specs: dict[str, NodeSpec],
    roots: set[str],
    written: set[str],
    namespaced: bool,
) -> tuple[str, str | None] | None:
    """What is wrong with a template of this path, or None; `Template.base` is `path[0]`."""
    base = str(path[0])
    if namespaced and base in specs:
        return _node_reference_problem(path, specs[base])
    if not namespaced and base in specs and base not in roots:
        return (
            f"refers to node '{base}', but with \"enable_namespacing\": false node outputs "
            "are written to the store root",
            f"Refer to the output by its own name, e.g. ${{{path[1]}}}"
            if len(path) > 1
            else "Refer to an output by its own name, e.g. ${stdout}",
        )
    if base in roots or (not namespaced and base in written):
        return None
    return (
        f"refers to '{base}', which is neither a declared input nor a node id",
        _choices(base, sorted(roots - RUNTIME_ROOT_KEYS) + list(specs))
        + f" (or declare '{base}' under \"inputs\" and pass {base}=<value>)",
    )


def _node_reference_problem(path: tuple[PathPart, ...], spec: NodeSpec) -> tuple[str, str] | None:
    base, rest = str(path[0]), path[1:]
    if not rest or not isinstance(rest[0], str):
        return (
            f"names node '{base}' but not one of its outputs",
            f"Use ${{{base}.<output>}}; {spec.name} outputs: {_outputs(spec)}",
        )
    out_type = spec.output_type(rest[0])
    if out_type is None:
        return (
            f"uses output '{rest[0]}', which node type '{spec.name}' does not write",
            f"{spec.name} outputs: {_outputs(spec)}",
        )
    if len(rest) > 1 and out_type not in _WALKABLE:
        return (
            f"walks into output '{rest[0]}', which is "
            f"{'an' if out_type.startswith(tuple('aeiou')) else 'a'} {out_type}",
            f"Use ${{{base}.{rest[0]}}} without the rest of the path",
        )
    return None


def _outputs(spec: NodeSpec) -> str:
    """The output names of `spec`, for a hint."""
    return ", ".join(spec.output_names())


def _unused_inputs(ir: dict[str, Any], scan: TemplateScan) -> list[str]:
    declared = list(ir.get("inputs") or {})
    if not declared:
        return []
    used = scan.all_bases()  # those of every node's templates
    for decl in (ir.get("outputs") or {}).values():
        template = parse_source(decl.get("source") or "")
        if template:
            used.add(template.base)
    return [f"Declared input '{name}' is never used" for name in declared if name not in used]


def _choices(name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"Did you mean '{close[0]}'?"
    return f"Known names: {', '.join(known)}" if known else "Nothing to refer to yet"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
