"""Every example workflow runs as examples/README.md says, and every example is a valid IR.

Each documented command runs through the installed `pflow` console script (the one next to
the running interpreter) in a subprocess: in a fresh temporary copy of `examples/`, with a
temporary PFLOW_HOME and HOME, and standard input from /dev/null unless the command pipes
something in itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from pflow.registry import Registry
from pflow.runtime.validation import validate_workflow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLES_README = EXAMPLES / "README.md"
IR_SCHEMA = ROOT / "schemas" / "workflow-ir.schema.json"
BIN_DIR = Path(sys.executable).parent

_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_EXPECT = re.compile(r"\AExit code (\d+), standard output:\s*\Z")


@dataclass(frozen=True)
class Case:
    """One documented command with its expected exit code and standard output."""

    command: str
    exit_code: int
    stdout: str


def documented_cases() -> list[Case]:
    """The `sh` blocks of examples/README.md, each with the expectation that follows it."""
    text = EXAMPLES_README.read_text(encoding="utf-8")
    blocks = list(_BLOCK.finditer(text))
    cases: list[Case] = []
    for index, block in enumerate(blocks):
        if block.group(1) != "sh":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        between = text[block.end() : following.start()] if following else ""
        expect = _EXPECT.match(between.strip())
        if following is None or following.group(1) != "text" or expect is None:
            raise AssertionError(
                f"examples/README.md: command {block.group(2).strip()!r} must be followed by "
                "'Exit code N, standard output:' and a ```text block"
            )
        cases.append(Case(block.group(2).strip(), int(expect.group(1)), following.group(2)))
    return cases


CASES = documented_cases()
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def _hermetic_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.pathsep.join([str(BIN_DIR), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "PFLOW_HOME": str(home / ".pflow"),
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONIOENCODING": "utf-8",
    }


def test_the_readme_documents_commands() -> None:
    assert len(CASES) >= 7
    assert all(re.search(r"(^|\| )pflow ", case.command) for case in CASES)


def test_the_console_script_is_installed_next_to_the_interpreter() -> None:
    assert (BIN_DIR / "pflow").is_file(), f"no pflow console script in {BIN_DIR}"


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_is_documented_and_run(example: Path) -> None:
    readme = EXAMPLES_README.read_text(encoding="utf-8")
    assert f"## {example.name}" in readme
    assert any(f"examples/{example.name}" in case.command for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.command for c in CASES])
def test_documented_command(case: Case, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    env = _hermetic_env(tmp_path)
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {case.command}"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.stdout.decode("utf-8") == case.stdout, stderr
    assert result.returncode == case.exit_code, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_validates_against_the_ir_schema(example: Path) -> None:
    schema = json.loads(IR_SCHEMA.read_text(encoding="utf-8"))
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    ir = json.loads(example.read_text(encoding="utf-8"))
    errors = [e.message for e in validator_cls(schema).iter_errors(ir)]
    assert errors == []


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_passes_pflows_own_checks(example: Path) -> None:
    ir = json.loads(example.read_text(encoding="utf-8"))
    warnings = validate_workflow(ir, Registry(), params_known=False)
    assert warnings == []
    assert all(isinstance(n.get("purpose"), str) and n["purpose"] for n in ir["nodes"])
