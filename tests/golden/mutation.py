"""Mutation self-test of the golden corpus: does every catalogued mutant of src/ get caught?

Run it as `nox -s golden_mutants` (or `python tests/golden/mutation.py` from the checkout's
venv). For each of `--jobs` workers it makes a detached `git worktree` of HEAD under a temporary
directory, copies over it the checkout's uncommitted and untracked (not ignored) `src/` files and
stages them, so the tree measured is the checkout as it is. Each worker gets a small venv whose
`pflow` runs the worktree's `src/` with the dependencies of the running python (no install).
Then, per mutant: check the worktree is clean, `git apply` the patch, run the checkout's golden
cases with `-x` against the worktree's pflow (likely killers first, see `rank_cases`), then
`git apply -R` and check it is clean again. A patch that does not apply is a failure. A kill
counts only once the killing case passes on the clean worktree; a case that fails there too
(flaky on a busy machine) gets the mutant a second try, and an unconfirmed kill is a failure.

Exit status is non-zero when a patch fails, when the kill rate is under 95 % (every mutant counts,
those listed in golden/mutants/EQUIVALENT.md too), when a survivor is not listed there,
or when a listed mutant is killed (a stale entry). Which case killed which mutant is kept in
golden/.mutants-last.json (gitignored) to put that case first next time.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_INDEX = REPO / "golden" / "mutants" / "index.toml"
LAST_FILE = REPO / "golden" / ".mutants-last.json"
REQUIRED_KEYS = ("id", "patch", "category", "sees")
MIN_RATE = 0.95
FAST_COUNT = 8
MUTANT_TIMEOUT = 900.0
_FAILED = re.compile(r"^FAILED \S*test_golden_case\[([^\]]+)\]", re.MULTILINE)
_WORDS = re.compile(r"[a-z0-9]+")
# Reset SIGINT and SIGHUP in the pytest child: a background job ignores SIGINT and `nohup`
# ignores SIGHUP, and pflow keeps a signal its parent ignored, which breaks the signal cases.
_DFL = "import os, signal, sys; [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGHUP)]; os.execv(sys.argv[1], sys.argv[1:])"  # noqa: E501


@dataclass(frozen=True)
class Mutant:
    id: str
    patch: Path
    category: str
    sees: str
    fast: bool = False


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # "killed", "survived" or "failure"
    killer: str = ""
    detail: str = ""
    seconds: float = 0.0


# --- pure parts (unit-tested in test_mutation.py) -------------------------------------------


def parse_index(text: str, base: Path) -> list[Mutant]:
    """The [[mutant]] entries of an index.toml; patch paths are relative to `base`."""
    entries = tomllib.loads(text).get("mutant", [])
    mutants: list[Mutant] = []
    for entry in entries:
        missing = [k for k in REQUIRED_KEYS if not str(entry.get(k, "")).strip()]
        if missing:
            raise ValueError(f"index entry {entry.get('id', '?')!r} lacks {missing}")
        mutants.append(
            Mutant(
                entry["id"],
                base / entry["patch"],
                entry["category"],
                entry["sees"],
                bool(entry.get("fast", False)),
            )
        )
    seen: set[str] = set()
    for m in mutants:
        if m.id in seen:
            raise ValueError(f"duplicate mutant id {m.id!r}")
        seen.add(m.id)
    return mutants


def parse_equivalent(text: str) -> dict[str, str]:
    """`## <id>` headings of EQUIVALENT.md mapped to the section text under them (the reason)."""
    found: dict[str, str] = {}
    current: str | None = None
    body: list[str] = []
    for line in [*text.splitlines(), "## "]:
        if line.startswith("## "):
            if current:
                found[current] = "\n".join(body).strip()
            current = line[3:].strip().split()[0] if line[3:].strip() else None
            body = []
        elif current:
            body.append(line)
    return found


def choose_fast(mutants: list[Mutant]) -> list[Mutant]:
    """The `fast = true` entries, else the first mutant of each category, at most FAST_COUNT."""
    marked = [m for m in mutants if m.fast]
    if marked:
        return marked
    chosen: dict[str, Mutant] = {}
    for m in mutants:
        chosen.setdefault(m.category, m)
    return list(chosen.values())[:FAST_COUNT]


def words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if len(w) > 2}


def rank_cases(mutant: Mutant, cases: list[str], last: dict[str, dict[str, str]]) -> list[str]:
    """`cases` reordered so the likely killers of `mutant` run first.

    First the case that killed this mutant last time, then cases that killed mutants of the
    same category, then cases sharing words with the mutant's id and category, then cases that
    killed anything; ties keep the corpus order. `last` maps mutant id to {killer, category}.
    """
    own = last.get(mutant.id, {}).get("killer", "")
    same: dict[str, int] = {}
    anyk: dict[str, int] = {}
    for mid, rec in last.items():
        killer = rec.get("killer", "")
        if not killer:
            continue
        anyk[killer] = anyk.get(killer, 0) + 1
        if rec.get("category") == mutant.category and mid != mutant.id:
            same[killer] = same.get(killer, 0) + 1
    wanted = words(mutant.id) | words(mutant.category)
    position = {c: i for i, c in enumerate(cases)}

    def key(case: str) -> tuple[int, int, int, int, int]:
        overlap = len(words(case) & wanted)
        return (case != own, -same.get(case, 0), -overlap, -anyk.get(case, 0), position[case])

    return sorted(cases, key=key)


def killer_of(pytest_output: str) -> str:
    """The case id of the first failed golden case in pytest's short summary, or ""."""
    match = _FAILED.search(pytest_output)
    return match.group(1) if match else ""


@dataclass
class Verdict:
    lines: list[str]
    ok: bool


def summarize(outcomes: list[Outcome], equivalent: dict[str, str]) -> Verdict:
    """Summary lines and whether the run passes (see the module docstring)."""
    killed = [o for o in outcomes if o.status == "killed"]
    survived = [o for o in outcomes if o.status == "survived"]
    failed = [o for o in outcomes if o.status == "failure"]
    excused = [o for o in survived if o.mutant.id in equivalent]
    unlisted = [o for o in survived if o.mutant.id not in equivalent]
    stale = [o for o in killed if o.mutant.id in equivalent]
    # Listed equivalents excuse a survivor but still count against the rate.
    rate = len(killed) / len(outcomes) if outcomes else 1.0
    lines = [
        f"total {len(outcomes)}  killed {len(killed)}  survived {len(survived)} "
        f"({len(excused)} equivalent)  failures {len(failed)}  rate {rate:.1%}"
    ]
    lines += [f"FAILURE  {o.mutant.id}: {o.detail}" for o in failed]
    lines += [f"SURVIVOR {o.mutant.id} [{o.mutant.category}]: {o.mutant.sees}" for o in unlisted]
    lines += [f"equivalent {o.mutant.id}: {equivalent[o.mutant.id][:80]}" for o in excused]
    lines += [f"STALE    {o.mutant.id}: listed in EQUIVALENT.md but killed by {o.killer}"
              for o in stale]  # fmt: skip
    ok = not failed and not unlisted and not stale and rate >= MIN_RATE
    lines.append("mutation self-test " + ("passed" if ok else f"FAILED (needs {MIN_RATE:.0%})"))
    return Verdict(lines, ok)


def merge_last(last: dict[str, dict[str, str]], outcomes: list[Outcome]) -> dict[str, Any]:
    merged = dict(last)
    for o in outcomes:
        if o.status == "killed":
            merged[o.mutant.id] = {"killer": o.killer, "category": o.mutant.category}
        elif o.status == "survived":
            merged.pop(o.mutant.id, None)
    return merged


# --- the worktrees --------------------------------------------------------------------------


def _git(*args: str, cwd: Path = REPO, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check)


class Worker:
    """A detached worktree of HEAD with the checkout's src/ copied in, and a venv running it."""

    def __init__(self, root: Path, name: str) -> None:
        self.tree = root / name / "tree"
        self.venv = root / name / "venv"
        self.scratch = root / name
        _git("worktree", "add", "--detach", "--quiet", str(self.tree), "HEAD")
        self._copy_checkout_src()
        _git("add", "-A", "src", cwd=self.tree)  # the staged tree is the clean state
        self._make_venv()

    def _copy_checkout_src(self) -> None:
        # Everything under src/ that differs from HEAD, staged or not, and untracked files.
        changed = _git("diff", "--name-only", "-z", "HEAD", "--", "src").stdout
        untracked = _git("ls-files", "-o", "--exclude-standard", "-z", "src").stdout
        for rel in filter(None, (changed + untracked).split("\0")):
            source, target = REPO / rel, self.tree / rel
            if source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
            else:
                target.unlink(missing_ok=True)

    def _make_venv(self) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True)
        python = self.venv / "bin" / "python"
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        # The worktree's src first, then the running python's packages (deps, llm-echo).
        deps = sysconfig.get_path("purelib")
        (Path(site) / "00-pflow-worktree.pth").write_text(f"{self.tree / 'src'}\n{deps}\n")
        script = self.venv / "bin" / "pflow"
        script.write_text(
            f"#!{python}\nimport sys\nfrom pflow.cli.app import run\nsys.exit(run())\n"
        )
        script.chmod(0o755)
        where = subprocess.run(
            [str(python), "-c", "import pflow; print(pflow.__file__)"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        if not where.startswith(str(self.tree)):
            raise RuntimeError(f"worker venv imports pflow from {where}, not {self.tree}")

    def assert_clean(self) -> None:
        """The worktree's src/ equals its staged baseline: no change, no untracked file."""
        unstaged = _git("diff", "--quiet", "--", "src", cwd=self.tree, check=False)
        untracked = _git("ls-files", "-o", "--exclude-standard", "src", cwd=self.tree).stdout
        if unstaged.returncode != 0 or untracked.strip():
            status = _git("status", "--short", "src", cwd=self.tree).stdout
            raise RuntimeError(f"worktree {self.tree} is not clean:\n{status}")

    def run(self, mutant: Mutant, order: list[str], pytest_args: list[str]) -> Outcome:
        """One mutant; a kill counts only when the killing case passes without the mutant.

        A case that fails on the unmutated tree too (a flaky case, on a busy machine) proves
        nothing: the mutant is tried once more, and if that kill cannot be confirmed either,
        the outcome is a failure naming the case.
        """
        started = time.monotonic()
        outcome = self._attempt(mutant, order, pytest_args)
        if outcome.status == "killed" and not self._passes_clean(outcome.killer, pytest_args):
            flaky = outcome.killer
            outcome = self._attempt(mutant, order, pytest_args)
            if outcome.status == "killed" and not self._passes_clean(outcome.killer, pytest_args):
                outcome = Outcome(
                    mutant,
                    "failure",
                    detail=f"killed only by {outcome.killer}, which fails without the mutant too",
                )
            elif outcome.status == "killed":
                outcome.detail = f"(first killed by {flaky}, which also failed without it)"
        outcome.seconds = time.monotonic() - started
        return outcome

    def _passes_clean(self, case: str, pytest_args: list[str]) -> bool:
        """Whether `case` passes against the unmutated worktree."""
        self.assert_clean()
        cmd = [
            sys.executable, "-c", _DFL, sys.executable, "-m", "pytest",
            f"{REPO / 'tests' / 'golden' / 'test_golden.py'}::test_golden_case[{case}]",
            "-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--golden-no-new",
            f"--pflow-bin={self.venv / 'bin' / 'pflow'}", *pytest_args,
        ]  # fmt: skip
        env = dict(os.environ)
        env.pop("PFLOW_BIN", None)
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=MUTANT_TIMEOUT
        )
        return proc.returncode == 0

    def _attempt(self, mutant: Mutant, order: list[str], pytest_args: list[str]) -> Outcome:
        started = time.monotonic()
        self.assert_clean()
        applied = _git("apply", str(mutant.patch), cwd=self.tree, check=False)
        if applied.returncode != 0:
            return Outcome(mutant, "failure", detail=f"patch does not apply: {applied.stderr}")
        try:
            status, killer, detail = self._pytest(mutant, order, pytest_args)
        finally:
            reverted = _git("apply", "-R", str(mutant.patch), cwd=self.tree, check=False)
            if reverted.returncode != 0:
                raise RuntimeError(f"cannot revert {mutant.id}: {reverted.stderr}")
            self.assert_clean()
        return Outcome(mutant, status, killer, detail, time.monotonic() - started)

    def _pytest(self, mutant: Mutant, order: list[str], extra: list[str]) -> tuple[str, str, str]:
        order_file = self.scratch / "order.txt"
        order_file.write_text("\n".join(order) + "\n", encoding="utf-8")
        env = dict(os.environ, PYTHONPYCACHEPREFIX=str(self.scratch / f"pyc-{mutant.id}"))
        env.pop("PFLOW_BIN", None)
        cmd = [
            sys.executable, "-c", _DFL, sys.executable, "-m", "pytest",
            str(REPO / "tests" / "golden"), "-k", "test_golden_case", "-x", "-q",
            "-p", "no:cacheprovider", "-p", "no:xdist", "--golden-no-new",
            f"--pflow-bin={self.venv / 'bin' / 'pflow'}", f"--golden-order={order_file}",
            *extra,
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=MUTANT_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return "failure", "", f"pytest ran over {MUTANT_TIMEOUT:.0f} s"
        finally:
            shutil.rmtree(self.scratch / f"pyc-{mutant.id}", ignore_errors=True)
        if proc.returncode == 0:
            return "survived", "", ""
        killer = killer_of(proc.stdout)
        if proc.returncode == 1 and killer:
            return "killed", killer, ""
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        return "failure", "", f"pytest exit {proc.returncode}: " + " | ".join(tail)

    def remove(self) -> None:
        _git("worktree", "remove", "--force", str(self.tree), check=False)


def _case_ids() -> list[str]:
    cases = REPO / "golden" / "cases"
    return sorted(p.name for p in cases.iterdir() if (p / "case.toml").is_file())


def _load_last() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(LAST_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    parser.add_argument("--only", action="append", default=[], metavar="ID")
    parser.add_argument("--fast", action="store_true", help="the CI-sized subset only")
    parser.add_argument("--jobs", type=int, default=2, help="parallel worktrees (default 2)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    index = args.index.resolve()
    mutants = parse_index(index.read_text(encoding="utf-8"), index.parent)
    equivalent_file = index.parent / "EQUIVALENT.md"
    equivalent = (
        parse_equivalent(equivalent_file.read_text(encoding="utf-8"))
        if equivalent_file.is_file()
        else {}
    )
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in mutants})
        if unknown:
            parser.error(f"unknown mutant ids: {unknown}")
        mutants = [m for m in mutants if m.id in args.only]
    if args.fast:
        mutants = choose_fast(mutants)
    last, cases = _load_last(), _case_ids()
    todo: queue.Queue[Mutant] = queue.Queue()
    for m in mutants:
        todo.put(m)
    outcomes: list[Outcome] = []
    lock, started = threading.Lock(), time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="pflow-mutants-"))
    workers: list[Worker] = []
    errors: list[BaseException] = []

    def work(worker: Worker) -> None:
        while not errors:
            try:
                mutant = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcome = worker.run(mutant, rank_cases(mutant, cases, last), args.pytest_args)
            except BaseException as exc:  # a dirty worktree stops the whole run
                errors.append(exc)
                return
            with lock:
                outcomes.append(outcome)
                mins, secs = divmod(int(time.monotonic() - started), 60)
                label = {"killed": "killed  ", "survived": "survived", "failure": "FAILURE "}
                text = f"by {outcome.killer}" if outcome.killer else outcome.detail
                print(
                    f"[{len(outcomes):>3}/{len(mutants)} {mins:>2}m{secs:02d}s] "
                    f"{label[outcome.status]} {mutant.id}  {text}".rstrip(),
                    flush=True,
                )

    try:
        for n in range(max(1, min(args.jobs, len(mutants)))):
            workers.append(Worker(root, f"w{n}"))
        print(f"{len(mutants)} mutants, {len(cases)} cases, {len(workers)} workers", flush=True)
        threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    finally:
        for w in workers:
            w.remove()
        shutil.rmtree(root, ignore_errors=True)
        _git("worktree", "prune", check=False)
    if errors:
        print(f"mutation run stopped: {errors[0]}", file=sys.stderr)
        return 2
    LAST_FILE.write_text(json.dumps(merge_last(last, outcomes), indent=1, sort_keys=True) + "\n")
    verdict = summarize(outcomes, equivalent)
    mins, secs = divmod(int(time.monotonic() - started), 60)
    print(f"\nwall time {mins}m{secs:02d}s")
    print("\n".join(verdict.lines))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
