"""Development sessions for pflow: `nox -s tests lint schemas golden golden_baseline` is CI.

Every session installs the project editable with its `dev` extra into its own virtual
environment under `.nox/`. `nox -R` reuses those environments and skips the installs, for
fast reruns; `nox -l` lists the sessions.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "schemas", "golden", "golden_baseline"]

LINT_PATHS = ("src", "tests", "benchmarks", "scripts", "noxfile.py")


def _install(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite in parallel; extra arguments go to pytest (nox -s tests -- -k x)."""
    _install(session)
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format check), mypy (strict, config in pyproject) and import-linter."""
    _install(session)
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)
    session.run("mypy")
    session.run("lint-imports")


# --- the golden corpus and the schemas (golden/README.md) ---------------------------------------

GOLDEN_ARGS = ("tests/golden", "-p", "no:cacheprovider")


@nox.session
def golden(session: nox.Session) -> None:
    """Verify the installed (not editable) pflow against golden/snapshots: the CI gate."""
    session.install(".[dev]")
    session.run("pytest", *GOLDEN_ARGS, "-n", "auto", *session.posargs)


@nox.session
def golden_record(session: nox.Session) -> None:
    """Re-record every snapshot, then verify them under -n auto with another hash seed."""
    if os.environ.get("CI"):
        session.error("golden_record refuses to run with CI set: recording is a reviewed act")
    session.install("-e", ".[dev]")
    session.run("pytest", *GOLDEN_ARGS, "--golden-record", *session.posargs)
    session.run("pytest", *GOLDEN_ARGS, "-n", "auto", env={"GOLDEN_HASHSEED": "1"})


@nox.session
def golden_baseline(session: nox.Session) -> None:
    """Install the BASELINE commit from a git worktree into a fresh venv; verify the snapshots."""
    baseline = _baseline()
    commit = baseline["commit"]
    session.run("git", "cat-file", "-e", f"{commit}^{{commit}}", external=True)
    has_service = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}:src/pflow/core/workflow_executor_service.py"],
        capture_output=True,
        check=False,
    )
    if has_service.returncode == 0:
        session.error(f"BASELINE {commit} already has the executor service: not pre-refactor")
    session.install(".[dev]")
    work = Path(session.create_tmp()).resolve() / "baseline"
    shutil.rmtree(work, ignore_errors=True)
    tree, venv = work / "tree", work / "venv"
    session.run("git", "worktree", "add", "--detach", str(tree), commit, external=True)
    try:
        session.run(sys.executable, "-m", "venv", str(venv), external=True)
        # The recording's library versions, and the llm plugin the llm cases talk to.
        pins = [f"{lib}=={baseline[lib]}" for lib in ("click", "jsonschema", "llm-echo")]
        session.run(str(venv / "bin" / "pip"), "install", "-q", str(tree), *pins, external=True)
        # Cases added after the baseline record behaviour it never had; only its own are checked,
        # less those whose snapshots were deliberately changed since (golden/CHANGED).
        only = work / "baseline-cases.txt"
        changed = _changed_cases()
        kept = [c for c in _cases_at(commit).split() if c not in changed]
        if changed:
            session.log(f"skipping {len(changed)} changed case(s): {', '.join(sorted(changed))}")
        only.write_text("".join(f"{c}\n" for c in kept), encoding="utf-8")
        pflow = venv / "bin" / "pflow"
        session.run(
            "pytest", *GOLDEN_ARGS, "-n", "auto", f"--pflow-bin={pflow}", f"--golden-only={only}"
        )
    finally:
        session.run("git", "worktree", "remove", "--force", str(tree), external=True)


@nox.session(venv_backend="none")
def golden_review(session: nox.Session) -> None:
    """List pending snapshot changes (<stream>.new); -- --accept ID / --reject ID. Not with CI."""
    if os.environ.get("CI"):
        session.error("golden_review refuses to run with CI set: accepting is a reviewed act")
    session.run(sys.executable, "tests/golden/review.py", *session.posargs, external=True)


@nox.session
def golden_mutants(session: nox.Session) -> None:
    """Mutation self-test of the corpus (golden/mutants/): at least 95% of mutants killed.

    Arguments go to tests/golden/mutation.py: --fast (the CI-sized subset), --only ID,
    --jobs N (parallel worktrees, default 2).
    """
    session.install("-e", ".[dev]")
    session.run("python", "tests/golden/mutation.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """The slow fuzz run of `pflow run` (tests/reliability/README.md); args go to pytest.

    PFLOW_FUZZ_EXAMPLES=N sets the workflows per source (default 700; 20 for a smoke run).
    The figures are printed at the end and kept with every failing case under .nox/fuzz/tmp/.
    """
    _install(session)
    summary = Path(session.create_tmp()).resolve() / "fuzz-summary"
    shutil.rmtree(summary, ignore_errors=True)
    env = {"PFLOW_FUZZ": "1", "PFLOW_FUZZ_SUMMARY": str(summary)}
    try:
        session.run(
            "pytest",
            "tests/reliability/test_fuzz.py",
            "-m",
            "slow",
            "-n",
            "auto",
            "-p",
            "no:cacheprovider",
            *session.posargs,
            env=env,
        )
    finally:
        if summary.is_dir():
            session.run("python", "tests/reliability/test_fuzz.py", str(summary))


@nox.session
def schemas(session: nox.Session) -> None:
    """Generated schemas are current and valid 2020-12; fixtures, examples, saved files validate."""
    # schemas/*.schema.json are generated from schemas/src (stdlib only: runs before the install).
    session.run("python", "scripts/bundle_schemas.py", "--check")
    session.install(".[dev]")
    session.run("check-jsonschema", "--check-metaschema", *sorted(glob.glob("schemas/*.json")))
    session.run("pytest", "-n", "auto", "tests/schemas", "tests/test_examples.py")
    # Golden cases that write saved workflow files validate each of them against its schema.
    session.run("pytest", *GOLDEN_ARGS, "-n", "auto", "-k", "saved or workflow-cmd")


def _cases_at(commit: str) -> str:
    """The golden case ids present at `commit`, one a line."""
    return subprocess.run(
        ["git", "ls-tree", "--name-only", f"{commit}:golden/cases"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _changed_cases() -> set[str]:
    """Case ids listed in golden/CHANGED (first word of each line that is not a comment)."""
    path = Path("golden/CHANGED")
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return {
        line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")
    }


def _baseline() -> dict[str, str]:
    """golden/BASELINE as a dict: commit, python, click, jsonschema."""
    fields: dict[str, str] = {}
    for line in Path("golden/BASELINE").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(" ")
        if key and not key.startswith("#"):
            fields[key] = value.strip()
    return fields
