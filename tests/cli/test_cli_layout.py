"""The CLI only parses and renders: small modules that reach the layers below through core."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pflow.cli

CLI_DIR = Path(pflow.cli.__file__).parent
PYPROJECT = CLI_DIR.parents[2] / "pyproject.toml"
MAX_LINES = 250


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_cli_module_is_over_250_lines():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in CLI_DIR.glob("*.py")}
    assert sizes and all(n <= MAX_LINES for n in sizes.values()), sizes


def test_the_cli_imports_only_core_and_foundation_of_pflow():
    allowed = ("pflow.cli", "pflow.core", "pflow.foundation")
    for path in sorted(CLI_DIR.glob("*.py")):
        mine = {m for m in _imports(path) if m == "pflow" or m.startswith("pflow.")}
        assert all(m == "pflow" or m.startswith(allowed) for m in mine), (path.name, mine)


def test_the_layer_contract_has_no_exceptions():
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")
    assert layers["layers"] == [
        "pflow.cli",
        "pflow.core",
        "pflow.runtime",
        "pflow.registry",
        "pflow.nodes",
        "pflow.foundation",
    ]
    assert all("ignore_imports" not in c for c in config["contracts"])
