"""README.md opens with the two documented commands, and .ci/run runs the README's test command."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"

INSTALL_AND_RUN = (
    "python3 -m venv .venv && .venv/bin/pip install . && "
    ".venv/bin/pflow run examples/hello.json name=Ada"
)
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && "
    ".venv/bin/nox -s tests lint schemas golden golden_baseline"
)

_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _code_blocks(text: str) -> list[str]:
    return [m.group(1).strip() for m in _BLOCK.finditer(text)]


def test_readme_starts_with_title_sentence_and_the_two_commands() -> None:
    text = _readme()
    lines = text.splitlines()
    assert lines[0] == "# pflow"
    assert lines[1] == ""
    assert lines[2].startswith("pflow ") and lines[2].endswith(".")
    assert lines[3] == ""
    # Right after the sentence: two shell code blocks and nothing else in between.
    opening = "\n".join(lines[4:])
    expected = f"```sh\n{INSTALL_AND_RUN}\n```\n\n```sh\n{TEST_COMMAND}\n```\n"
    assert opening.startswith(expected)


def test_first_two_code_blocks_are_the_documented_commands() -> None:
    blocks = _code_blocks(_readme())
    assert blocks[:2] == [INSTALL_AND_RUN, TEST_COMMAND]


def test_the_example_the_readme_runs_exists() -> None:
    assert (ROOT / "examples" / "hello.json").is_file()


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme_test_command = _code_blocks(_readme())[1]
    ci_lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    assert readme_test_command in ci_lines
    commands = [line for line in ci_lines if line and not line.startswith("#")]
    # Besides the shell options and the move to the repository root, CI runs only that line.
    assert commands == [
        "set -euo pipefail",
        'cd "$(dirname "${BASH_SOURCE[0]}")/.."',
        readme_test_command,
    ]


def test_ci_script_is_an_executable_strict_bash_script() -> None:
    text = CI_RUN.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(CI_RUN, os.X_OK)
