"""A workflow directory pflow cannot write to still runs the workflow as if it could.

The run's stdout and exit code are those of the same run in a writable directory, the saved
file is left byte for byte as it was, and stderr gains exactly one line:
`Warning: the run was not recorded: ...`.

The tests run as root in CI, where `chmod 0o555` alone stops nothing. Each way of making the
directory unwritable is therefore first proven on the spot, by the same kind of process the
CLI will run as, trying to create a file there; a method that fails that proof is skipped with
the reason, never counted as a pass:

- `permissions`: mode 0o555. As root, the CLI runs under `setpriv` with CAP_DAC_OVERRIDE,
  CAP_DAC_READ_SEARCH and CAP_FOWNER removed from its bounding set, so root is held to the
  permission bits like any owner.
- `immutable`: `chattr +i` on the directory (works for root on ext4, xfs, btrfs...).

Both are run with and without a lock file left by an earlier run: without one, creating the
lock fails; with one, taking the lock works and writing the temp file fails. A third test makes
only locking impossible (a directory where the lock file goes), which works everywhere but
proves less: the directory itself is writable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

NAME = "hello"
WARNING = "Warning: the run was not recorded:"
TIMEOUT = 60
PFLOW_SCRIPT = Path(sys.executable).with_name("pflow")
_DROPPED_ENV = (
    "PFLOW_DEBUG",
    "PFLOW_INCLUDE_TEST_NODES",
    "PYTHONWARNINGS",
    "PYTHONSTARTUP",
    "NO_COLOR",
    "FORCE_COLOR",
)
_DROPPED_CAPS = "-dac_override,-dac_read_search,-fowner"

# Byte-exact fixtures: the read-only copy must still hold exactly these bytes after a run.
WORKFLOWS: dict[str, dict[str, Any]] = {
    "hello": {
        "ir_version": "0.1.0",
        "nodes": [{"id": "say", "type": "shell", "params": {"command": "echo hi"}}],
    },
    "broken": {
        "ir_version": "0.1.0",
        "nodes": [{"id": "boom", "type": "shell", "params": {"command": "echo bad >&2; exit 3"}}],
    },
}
SCENARIOS = {
    "text": ["hello"],
    "json": ["run", "hello", "--output-format", "json"],
    "failing": ["broken"],
}

# Tries to create a file in the directory, as pflow would (exit 0: it could, 3: it could not).
PROBE = textwrap.dedent(
    """
    import os, sys
    probe = os.path.join(sys.argv[1], ".probe.tmp")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        print(exc.strerror)
        sys.exit(3)
    os.close(fd)
    os.unlink(probe)
    """
)


def _saved_file(name: str) -> str:
    wrapper = {
        "name": name,
        "description": f"The {name} workflow",
        "ir": WORKFLOWS[name],
        "created_at": "2001-02-03T04:05:06.000000+00:00",
        "updated_at": "2001-02-03T04:05:06.000000+00:00",
        "version": "1.0.0",
    }
    return json.dumps(wrapper, indent=2) + "\n"


@dataclass
class Place:
    """One PFLOW_HOME with both saved workflows, its HOME and working directory."""

    root: Path
    prefix: list[str] = field(default_factory=list)  # argv before pflow (setpriv)

    @property
    def workflows(self) -> Path:
        return self.root / "pflow-home" / "workflows"

    def create(self, lock_files: bool = False) -> Place:
        self.workflows.mkdir(parents=True)
        (self.root / "home").mkdir()
        for name in WORKFLOWS:
            (self.workflows / f"{name}.json").write_text(_saved_file(name), encoding="utf-8")
            if lock_files:  # as an earlier, recorded run leaves it
                (self.workflows / f".{name}.json.lock").touch()
        return self

    def snapshot(self) -> dict[str, bytes | None]:
        """Every entry of the workflows directory, with the bytes of the files."""
        return {p.name: None if p.is_dir() else p.read_bytes() for p in self.workflows.iterdir()}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update({"PFLOW_HOME": str(self.root / "pflow-home"), "HOME": str(self.root / "home")})
        return env

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[bytes]:
        command = [str(PFLOW_SCRIPT)] if PFLOW_SCRIPT.is_file() else [sys.executable, "-m", "pflow"]
        return subprocess.run(
            [*self.prefix, *command, *argv],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=self.env(),
            cwd=self.root,
            timeout=TIMEOUT,
            check=False,
        )

    def probe_unwritable(self) -> str | None:
        """None when this place's processes can create a file in the workflows directory,
        else the reason they cannot."""
        done = subprocess.run(
            [*self.prefix, sys.executable, "-c", PROBE, str(self.workflows)],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        if done.returncode == 3:
            return done.stdout.decode().strip()
        assert done.returncode == 0, f"the probe itself failed: {done!r}"
        return None


def _setpriv_prefix() -> list[str] | None:
    """argv that runs a command as root held to permission bits, None if impossible here."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, f"--bounding-set={_DROPPED_CAPS}"]
    done = subprocess.run([*prefix, "true"], capture_output=True, timeout=TIMEOUT, check=False)
    return prefix if done.returncode == 0 else None


def _normalised_json(stdout: bytes) -> Any:
    """stdout as JSON with the run's timings blanked (they differ from run to run)."""

    def blank(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            if key == "node_timings":
                return {k: "<ms>" for k in value}
            return {k: "<ms>" if k == "duration_ms" else blank(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value

    return blank(json.loads(stdout))


@contextmanager
def _unwritable(place: Place, method: str) -> Iterator[str]:
    """Make `place`'s workflows directory unwritable by `method`; yield why a write fails.

    Skips the test when the method cannot be applied, or applied does not stop a write.
    """
    directory = place.workflows
    if method == "permissions":
        if os.geteuid() == 0:
            prefix = _setpriv_prefix()
            if prefix is None:
                pytest.skip("running as root, and setpriv cannot drop CAP_DAC_OVERRIDE here")
            place.prefix = prefix
        directory.chmod(0o555)
        try:
            reason = place.probe_unwritable()
            if reason is None:
                pytest.skip("mode 0o555 does not stop this process from creating files")
            yield reason
        finally:
            directory.chmod(0o755)
    elif method == "immutable":
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("chattr is not installed")
        done = subprocess.run(
            [chattr, "+i", str(directory)], capture_output=True, timeout=TIMEOUT, check=False
        )
        if done.returncode != 0:
            pytest.skip(f"chattr +i does not work here: {done.stderr.decode().strip()}")
        try:
            reason = place.probe_unwritable()
            if reason is None:
                pytest.skip("chattr +i does not stop this process from creating files")
            yield reason
        finally:
            undone = subprocess.run(
                [chattr, "-i", str(directory)], capture_output=True, timeout=TIMEOUT, check=False
            )
            assert undone.returncode == 0, f"chattr -i failed: {undone.stderr!r}"
    else:  # pragma: no cover - a typo in a parameter
        raise ValueError(method)


def _assert_same_run_but_one_warning(
    writable: Place, readonly: Place, scenario: str, reason: str
) -> None:
    argv = SCENARIOS[scenario]
    workflow = "broken" if scenario == "failing" else "hello"
    before = readonly.snapshot()

    expected = writable.run(argv)
    actual = readonly.run(argv)

    # The writable run did record itself: not recording is the read-only directory's doing.
    saved = json.loads((writable.workflows / f"{workflow}.json").read_text(encoding="utf-8"))
    assert saved["rich_metadata"]["execution_count"] == 1, expected
    assert WARNING.encode() not in expected.stderr
    assert expected.returncode == (1 if scenario == "failing" else 0), expected

    assert actual.returncode == expected.returncode, actual
    if scenario == "json":
        assert _normalised_json(actual.stdout) == _normalised_json(expected.stdout)
    else:
        assert actual.stdout == expected.stdout
    assert readonly.snapshot() == before  # same files, same bytes, nothing created

    lines = actual.stderr.decode().splitlines()
    warnings = [line for line in lines if line.startswith(WARNING)]
    assert len(warnings) == 1, actual
    assert actual.stderr.decode().count(WARNING) == 1
    assert str(readonly.workflows) in warnings[0]
    assert warnings[0].endswith(reason), (warnings[0], reason)
    assert [line for line in lines if not line.startswith(WARNING)] == (
        expected.stderr.decode().splitlines()
    )


@pytest.mark.parametrize(
    ("scenario", "lock_files"),
    [("text", False), ("text", True), ("json", False), ("failing", False)],
    ids=["text", "text-lock-file-exists", "json", "failing"],
)
@pytest.mark.parametrize("method", ["permissions", "immutable"])
def test_readonly_workflows_dir_runs_like_a_writable_one(
    tmp_path: Path, method: str, scenario: str, lock_files: bool
) -> None:
    writable = Place(tmp_path / "writable").create(lock_files)
    readonly = Place(tmp_path / "readonly").create(lock_files)
    with _unwritable(readonly, method) as reason:
        writable.prefix = readonly.prefix  # same process privileges for both runs
        assert writable.probe_unwritable() is None
        _assert_same_run_but_one_warning(writable, readonly, scenario, reason)


@pytest.mark.parametrize("scenario", ["text", "json", "failing"])
def test_lock_path_taken_by_a_directory_runs_like_a_writable_one(
    tmp_path: Path, scenario: str
) -> None:
    """Locking is impossible for any user, root included; the directory stays writable."""
    writable = Place(tmp_path / "writable").create()
    readonly = Place(tmp_path / "readonly").create()
    for name in WORKFLOWS:
        (readonly.workflows / f".{name}.json.lock").mkdir()
    _assert_same_run_but_one_warning(writable, readonly, scenario, "Is a directory")
