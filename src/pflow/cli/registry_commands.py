"""`pflow registry ...`: the node types workflows can use."""

from __future__ import annotations

import json

import click

from pflow.cli.errors import report_error
from pflow.cli.exit_codes import ExitCode
from pflow.cli.output import echo_stdout
from pflow.core.node_types import NodeSpec, Registry
from pflow.core.results import dump_document
from pflow.foundation.exceptions import PflowError


@click.group(name="registry")
def registry_group() -> None:
    """Show the node types workflows can use.

    \b
    Examples:
      pflow registry list
      pflow registry describe shell
    """


@registry_group.command(name="list")
@click.option(
    "--json", "as_json", is_flag=True, help="Print name, package and description as JSON."
)
def registry_list(as_json: bool) -> int:
    """List node types, grouped by package.

    Example: pflow registry list --json
    """
    registry = Registry()
    specs = registry.load()
    for problem in registry.problems:
        click.echo(f"Warning: {problem}", err=True)
    if as_json:
        nodes = [
            {"name": s.name, "package": s.package, "description": s.description}
            for s in specs.values()
        ]
        echo_stdout(dump_document({"nodes": nodes}))
        return ExitCode.SUCCESS
    by_package: dict[str, list[NodeSpec]] = {}
    for spec in specs.values():
        by_package.setdefault(spec.package, []).append(spec)
    width = max(len(name) for name in specs)
    lines: list[str] = []
    for package in sorted(by_package):
        lines.append(f"{package}:")
        lines += [f"  {s.name:<{width}}  {s.description}" for s in by_package[package]]
    lines.append("")
    lines.append(f"{len(specs)} node types. Details: pflow registry describe TYPE")
    echo_stdout("\n".join(lines))
    return ExitCode.SUCCESS


@registry_group.command(name="describe")
@click.argument("node_type")
@click.option("--json", "as_json", is_flag=True, help="Print the node's interface as JSON.")
def registry_describe(node_type: str, as_json: bool) -> int:
    """Show a node type's parameters, outputs and actions.

    Example: pflow registry describe http
    """
    try:
        spec = Registry().require(node_type)
    except PflowError as exc:
        exc.exit_code = ExitCode.NOT_FOUND
        return report_error(exc)
    echo_stdout(dump_document(spec.to_dict()) if as_json else describe_text(spec))
    return ExitCode.SUCCESS


def describe_text(spec: NodeSpec) -> str:
    """Human description of one node type."""
    lines = [f"Node type: {spec.name}", f"Package: {spec.package}", spec.description, ""]
    lines.append("Parameters:")
    for p in spec.params:
        need = "required" if p.required else "optional"
        default = "" if p.default is None else f", default {json.dumps(p.default)}"
        lines.append(f"  {p.name} ({p.type}, {need}{default}): {p.description}")
    lines.append("Outputs (use as ${<node id>.<output>}):")
    lines += [f"  {o.name} ({o.type}): {o.description}" for o in spec.outputs]
    lines.append(f"Actions: {', '.join(spec.actions)}")
    example = {
        "id": "step",
        "type": spec.name,
        "params": {p.name: f"<{p.type}>" for p in spec.params if p.required},
    }
    lines += ["", "Example node:", "  " + json.dumps(example, ensure_ascii=False)]
    return "\n".join(lines)
