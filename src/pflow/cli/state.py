"""The collaborators one pflow command shares: built once per invocation, on first use."""

from __future__ import annotations

import click

from pflow.core.workflow_manager import WorkflowManager

_MANAGER = "pflow.workflow_manager"


def workflow_manager(ctx: click.Context | None = None) -> WorkflowManager:
    """The invocation's WorkflowManager (for $PFLOW_HOME/workflows), created once."""
    root = (ctx or click.get_current_context()).find_root()
    manager: WorkflowManager | None = root.meta.get(_MANAGER)
    if manager is None:
        manager = root.meta[_MANAGER] = WorkflowManager()
    return manager
