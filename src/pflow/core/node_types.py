"""The node types a front end may list, describe or use: the registry, as core offers it."""

from __future__ import annotations

from pflow.nodes.spec import NodeSpec
from pflow.registry import Registry

__all__ = ["NodeSpec", "Registry"]
