"""`pflow runs ...`: list the recorded runs and show one, node by node."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from pflow.cli.errors import report_error
from pflow.cli.exit_codes import ExitCode
from pflow.cli.output import echo_stdout
from pflow.core.results import dump_document
from pflow.core.run_records import RunRecordError
from pflow.core.run_store import FAILED_STATUSES, RunStore


@click.group(name="runs")
def runs_group() -> None:
    """List and inspect recorded runs (kept in $PFLOW_HOME/runs, the newest 100).

    Every `pflow run` and `pflow resume` records what each node did, so a failed run can be
    continued with `pflow resume`. PFLOW_NO_RUNS=1 turns recording off; PFLOW_RUNS_KEEP sets
    how many runs are kept.

    \b
    Examples:
      pflow runs list --failed
      pflow runs show 20261207T0912
      pflow resume 20261207T0912
    """


@runs_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help='Print {"runs": [...]} as JSON.')
@click.option(
    "--workflow", "workflow", metavar="NAME", help="Only runs of this saved name or file."
)
@click.option("--failed", is_flag=True, help="Only runs that did not succeed.")
def runs_list(as_json: bool, workflow: str | None, failed: bool) -> int:
    """List recorded runs, newest first.

    Example: pflow runs list --workflow my-flow --failed
    """
    try:
        records = list(RunStore().records())
    except RunRecordError as exc:
        return report_error(exc)
    if workflow is not None:
        records = [r for r in records if _is_workflow(r, workflow)]
    if failed:
        records = [r for r in records if r.get("status") in FAILED_STATUSES]
    rows = [summary(r) for r in records]
    if as_json:
        echo_stdout(dump_document({"runs": rows}))
        return ExitCode.SUCCESS
    if not rows:
        echo_stdout("No recorded runs." if workflow is None and not failed else "No matching runs.")
        return ExitCode.SUCCESS
    table = [["RUN", "STATUS", "STARTED", "DURATION", "NODES", "WORKFLOW"]]
    for row in rows:  # the workflow last: a long path pads no other column
        table.append(
            [
                row["run_id"],
                row["status"],
                stamp_text(row["started_at"]),
                _seconds(row["duration_ms"]),
                f"{row['nodes_completed']}/{row['nodes_total']}",
                row["workflow"],
            ]
        )
    echo_stdout(_columns(table))
    return ExitCode.SUCCESS


@runs_group.command(name="show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
def runs_show(run_id: str, as_json: bool) -> int:
    """Show one run node by node (RUN_ID may be the start of an id).

    Example: pflow runs show 20261207T0912 --json
    """
    store = RunStore()
    try:
        record = store.load(store.resolve(run_id))
    except RunRecordError as exc:
        return report_error(exc)
    if as_json:
        echo_stdout(dump_document(record))
        return ExitCode.SUCCESS
    row = summary(record)
    lines = [
        f"Run:       {row['run_id']}",
        f"Workflow:  {row['workflow']}",
        f"Status:    {row['status']}",
        f"Started:   {stamp_text(record.get('started_at'))}",
        f"Duration:  {_seconds(row['duration_ms'])}",
    ]
    if record.get("resumed_from"):
        lines.append(f"Resumed:   {record['resumed_from']}")
    if record.get("final_action"):
        lines.append(f"Action:    {record['final_action']}")
    table = [["NODE", "TYPE", "STATUS", "ACTION", "DURATION"]]
    for node in record.get("nodes", []):
        status = str(node.get("status"))
        table.append(
            [
                str(node.get("node_id")),
                str(node.get("node_type") or ""),
                "↻ cached" if node.get("cached") else status,
                str(node.get("action") or "-"),
                "-" if node.get("duration_ms") is None else f"{node['duration_ms']:.1f}ms",
            ]
        )
    lines += ["", _columns(table)]
    errors = [e for e in record.get("errors", []) if isinstance(e, dict)]
    if errors:
        lines += ["", "Errors:"] + [f"  {e.get('message')}" for e in errors]
    echo_stdout("\n".join(lines))
    return ExitCode.SUCCESS


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """One row of `pflow runs list`."""
    nodes = [n for n in record.get("nodes", []) if isinstance(n, dict)]
    return {
        "run_id": record.get("run_id"),
        "workflow": workflow_label(record),
        "status": record.get("status"),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "duration_ms": _duration_ms(record.get("started_at"), record.get("finished_at")),
        "nodes_completed": sum(1 for n in nodes if n.get("status") == "completed"),
        "nodes_total": len({n.get("node_id") for n in nodes}),
        "resumed_from": record.get("resumed_from"),
    }


def workflow_label(record: dict[str, Any]) -> str:
    """The saved name, or the workflow file's path."""
    workflow = record.get("workflow") or {}
    return str(workflow.get("name") or workflow.get("path") or "?")


def _is_workflow(record: dict[str, Any], wanted: str) -> bool:
    workflow = record.get("workflow") or {}
    if workflow.get("name"):
        return bool(workflow["name"] == wanted)
    return workflow.get("path") == str(Path(wanted).expanduser().resolve())


def _duration_ms(started: Any, finished: Any) -> float | None:
    try:
        delta = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    except (TypeError, ValueError):
        return None
    return round(delta.total_seconds() * 1000, 2)


def _seconds(duration_ms: float | None) -> str:
    return "-" if duration_ms is None else f"{duration_ms / 1000:.1f}s"


def stamp_text(stamp: Any) -> str:
    """An ISO timestamp as `YYYY-MM-DD HH:MM:SS` (in the zone it was written in), or "-"."""
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return "-"


def _columns(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
