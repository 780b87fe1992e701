"""Startup and layering checks for the core services."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pflow.core

CORE_DIR = Path(pflow.core.__file__).parent
FOUNDATION_DIR = CORE_DIR.parent / "foundation"
MINE = [
    "__init__",
    "workflow_manager",
    "pricing",
    "metrics",
    "output_controller",
]
HEAVY = {"jsonschema", "httpx", "llm", "filelock", "click"}


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_heavy_or_upward_module_level_imports():
    for name in MINE:
        imports = _module_level_imports(CORE_DIR / f"{name}.py")
        assert not {m.split(".")[0] for m in imports} & HEAVY, name
        assert not any(m.startswith("pflow.cli") for m in imports), name


def test_foundation_imports_nothing_heavy_and_nothing_else_of_pflow():
    for path in sorted(FOUNDATION_DIR.glob("*.py")):
        imports = _module_level_imports(path)
        assert not {m.split(".")[0] for m in imports} & HEAVY, path.name
        others = {m for m in imports if m.startswith("pflow") and m != "pflow"}
        assert all(m.startswith("pflow.foundation") for m in others), path.name


def test_importing_exceptions_stays_cheap():
    code = (
        "import sys, pflow.core.exceptions\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('pflow.core.', 'pflow.found')) "
        "or m.split('.')[0] in {'filelock', 'jsonschema', 'click'})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = "pflow.core.exceptions,pflow.foundation,pflow.foundation.exceptions"
    assert result.stdout.strip() == loaded


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = pflow.core.NoSuchThing  # type: ignore[attr-defined]
    assert set(pflow.core.__all__) == {"OutputController", "WorkflowManager"}
