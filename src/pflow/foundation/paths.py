"""Where pflow keeps its per-user state: home, saved workflows and debug traces."""

from __future__ import annotations

import os
from pathlib import Path


def pflow_home() -> Path:
    """The pflow home directory: `$PFLOW_HOME` when set and non-empty, else `~/.pflow`.

    The path is user-expanded but never created here.
    """
    configured = os.environ.get("PFLOW_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path("~/.pflow").expanduser()


def workflows_dir() -> Path:
    """Directory holding saved workflows (`<home>/workflows`)."""
    return pflow_home() / "workflows"


def debug_dir() -> Path:
    """Directory holding execution traces (`<home>/debug`)."""
    return pflow_home() / "debug"
