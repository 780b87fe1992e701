"""Running one golden case: a real `pflow` process in a hermetic environment.

A case lives in golden/cases/<id>/: `case.toml` plus optional `work/` (copied to the working
directory) and `home/` (copied to $HOME). Text files get `{{PORT}}` and `{{REFUSED_PORT}}`
replaced by the ports of the harness servers (in argv and stdin too), and `{{WORK}}` by the
absolute path of the working directory (files only: a run record naming a workflow file).

case.toml keys:
  purpose             one line: what the case proves (required)
  argv                words after `pflow` (required)
  stdin / stdin_file  bytes on standard input: inline text, or a file of the case folder
  env                 extra environment variables (literal values; `{{FIXTURES}}` becomes the
                      absolute path of golden/fixtures/, files several cases share)
  tty                 true: stdin and stdout on a 24x80 pseudo-terminal, stderr on a pipe;
                      "stdout": only stdout on the terminal, stdin piped (`stdin` above);
                      "stdin": only stdin on the terminal, stdout and stderr on pipes
  tty_input           text written to the terminal once the process started (needs tty
                      true or "stdin"); with tty true the terminal echoes it into stdout
  stdout_json         stdout is one JSON document: normalise it by key path
  collect             {key = glob relative to the case root}: snapshot that one file as
                      `file-<key>` (a `.json` glob is normalised as a JSON document)
  list_dirs           {key = directory relative to the case root}: snapshot the sorted list of
                      what is under it (one relative path a line, `/` after directories) as
                      `dir-<key>`, or `(no such directory)`; proves what a run left or removed
  fifos               file names in work/ made as named pipes (FIFOs) before the run
  interrupt_when      file name in work/ whose appearance triggers SIGINT (as Ctrl-C would)
  interrupt_signal    the signal interrupt_when sends instead: "SIGTERM" (as `kill` or
                      `timeout` would) or "SIGHUP" (a closed terminal); default "SIGINT"
  stdout_redirect     "/dev/full": stdout is a full disk (every write fails with ENOSPC);
                      "closed": descriptor 1 is closed (as `>&-`); stdout snapshots empty
  close_stdout_after  bytes of stdout read before the pipe is closed (as `| head -c N`)
  min_duration_ms     {node id = milliseconds}: the node is known to take at least that long
                      (e.g. `sleep 0.3`); its raw duration in the JSON document's metrics and
                      in every collected trace must be at least that, and no more than the
                      run's (durations are normalised away, so this keeps their unit checked)
  allow_traceback     the case expects `Traceback` on stderr (e.g. --verbose on an exception)
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden"
CASES_DIR = GOLDEN_DIR / "cases"
SNAPSHOTS_DIR = GOLDEN_DIR / "snapshots"
FIXTURES_DIR = GOLDEN_DIR / "fixtures"
RUN_TIMEOUT = 60.0
_CASE_KEYS = {
    "purpose",
    "argv",
    "stdin",
    "stdin_file",
    "env",
    "tty",
    "stdout_json",
    "collect",
    "interrupt_when",
    "close_stdout_after",
    "allow_traceback",
    "list_dirs",
    "tty_input",
    "min_duration_ms",
    "fifos",
    "interrupt_signal",
    "stdout_redirect",
}
_SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP}


@dataclass(frozen=True)
class Case:
    """One invocation of pflow, as declared in golden/cases/<id>/case.toml."""

    case_id: str
    purpose: str
    argv: list[str]
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)
    tty: str = ""  # "both", "stdin", "stdout" or "" (no terminal)
    stdout_json: bool = False
    collect: dict[str, str] = field(default_factory=dict)
    interrupt_when: str | None = None
    close_stdout_after: int | None = None
    allow_traceback: bool = False
    list_dirs: dict[str, str] = field(default_factory=dict)
    tty_input: bytes = b""
    min_duration_ms: dict[str, float] = field(default_factory=dict)
    fifos: list[str] = field(default_factory=list)
    interrupt_signal: str = "SIGINT"
    stdout_redirect: str = ""

    @property
    def directory(self) -> Path:
        """The case's folder under golden/cases."""
        return CASES_DIR / self.case_id


@dataclass
class RunResult:
    """Raw bytes a case produced: streams, exit code, collected files."""

    stdout: bytes
    stderr: bytes
    exit_code: int
    files: dict[str, bytes] = field(default_factory=dict)
    listings: dict[str, bytes] = field(default_factory=dict)
    # Saved workflow files the run wrote (new or changed against the case's fixture), by
    # path relative to the case root: not snapshotted, but validated against their schema.
    written_workflows: dict[str, bytes] = field(default_factory=dict)
    # Run records (runs/<id>/record.json) the run wrote, validated against their schema.
    written_records: dict[str, bytes] = field(default_factory=dict)

    def artifacts(self) -> dict[str, bytes]:
        """Everything that is snapshotted, by snapshot file name."""
        out = {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exit_code": f"{self.exit_code}\n".encode(),
        }
        out.update({f"file-{key}": data for key, data in self.files.items()})
        out.update({f"dir-{key}": data for key, data in self.listings.items()})
        return out


def case_ids() -> list[str]:
    """Every case folder, sorted."""
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.toml").is_file())


def load_case(case_id: str) -> Case:
    """Parse and check a case.toml."""
    folder = CASES_DIR / case_id
    data: dict[str, Any] = tomllib.loads((folder / "case.toml").read_text(encoding="utf-8"))
    unknown = set(data) - _CASE_KEYS
    if unknown:
        raise ValueError(f"{case_id}: unknown case.toml keys {sorted(unknown)}")
    if not data.get("purpose"):
        raise ValueError(f"{case_id}: every case needs a one-line purpose")
    stdin = data.get("stdin", "").encode("utf-8")
    if "stdin_file" in data:
        stdin = (folder / data["stdin_file"]).read_bytes()
    tty = data.get("tty", False)
    tty = {True: "both", False: ""}.get(tty, tty) if isinstance(tty, bool) else tty
    if tty not in ("", "both", "stdin", "stdout"):
        raise ValueError(f'{case_id}: tty is true, false, "stdin" or "stdout", not {tty!r}')
    if "tty_input" in data and tty not in ("both", "stdin"):
        raise ValueError(f'{case_id}: tty_input needs tty = true or "stdin"')
    if tty in ("both", "stdin") and ("stdin" in data or "stdin_file" in data):
        raise ValueError(f"{case_id}: stdin is the terminal; use tty_input")
    return Case(
        case_id=case_id,
        purpose=data["purpose"],
        argv=list(data["argv"]),
        stdin=stdin,
        env=dict(data.get("env", {})),
        tty=tty,
        stdout_json=bool(data.get("stdout_json", False)),
        collect=dict(data.get("collect", {})),
        interrupt_when=data.get("interrupt_when"),
        close_stdout_after=data.get("close_stdout_after"),
        allow_traceback=bool(data.get("allow_traceback", False)),
        list_dirs=dict(data.get("list_dirs", {})),
        tty_input=data.get("tty_input", "").encode("utf-8"),
        min_duration_ms={k: float(v) for k, v in data.get("min_duration_ms", {}).items()},
        fifos=list(data.get("fifos", [])),
        interrupt_signal=_choice(case_id, data, "interrupt_signal", "SIGINT", set(_SIGNALS)),
        stdout_redirect=_choice(case_id, data, "stdout_redirect", "", {"/dev/full", "closed"}),
    )


def _choice(case_id: str, data: dict[str, Any], key: str, default: str, allowed: set[str]) -> str:
    value = data.get(key, default)
    if value != default and value not in allowed:
        raise ValueError(f"{case_id}: {key} is one of {sorted(allowed)}, not {value!r}")
    return str(value)


@dataclass(frozen=True)
class Ports:
    """Ports a case may refer to as {{PORT}} and {{REFUSED_PORT}}."""

    port: int
    refused_port: int

    def fill(self, text: str) -> str:
        """Replace the port placeholders in case text."""
        return text.replace("{{PORT}}", str(self.port)).replace(
            "{{REFUSED_PORT}}", str(self.refused_port)
        )


def prepare(case: Case, root: Path, ports: Ports) -> tuple[Path, Path]:
    """Lay out the case's work and home folders under `root`; return (work, home)."""
    work, home = root / "work", root / "home"
    for name, target in (("work", work), ("home", home)):
        source = case.directory / name
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
            _fill_ports(target, ports)
            _fill_work(target, work)
        else:
            target.mkdir(parents=True)
    return work, home


def environment(case: Case, root: Path, home: Path, pflow_bin: Path, seed: str) -> dict[str, str]:
    """An empty environment plus an explicit allow-list, then the case's own variables."""
    env = {
        "PATH": f"{pflow_bin.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TMPDIR": str(root / "tmp"),
        "TZ": "UTC",
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "COLUMNS": "80",
        "LINES": "24",
        "PYTHONHASHSEED": seed,
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
        "PAGER": "cat",
        "TERM": "xterm-256color" if case.tty else "dumb",
    }
    (root / "tmp").mkdir(exist_ok=True)
    env.update({k: v.replace("{{FIXTURES}}", str(FIXTURES_DIR)) for k, v in case.env.items()})
    return env


def run_case(case: Case, root: Path, pflow_bin: Path, ports: Ports, seed: str) -> RunResult:
    """Run the case once under `root` and capture everything it produced."""
    work, home = prepare(case, root, ports)
    for name in case.fifos:
        os.mkfifo(work / name)
    env = environment(case, root, home, pflow_bin, seed)
    argv = [str(pflow_bin), *(ports.fill(a) for a in case.argv)]
    stdin = ports.fill(case.stdin.decode("utf-8", "surrogateescape")).encode(
        "utf-8", "surrogateescape"
    )
    if case.tty:
        result = _run_tty(argv, env, work, stdin, case.tty, case.tty_input)
    elif case.interrupt_when is not None:
        result = _run_interrupted(
            argv, env, work, stdin, work / case.interrupt_when, _SIGNALS[case.interrupt_signal]
        )
    elif case.close_stdout_after is not None:
        result = _run_closing_stdout(argv, env, work, stdin, case.close_stdout_after)
    elif case.stdout_redirect:
        result = _run_redirected(argv, env, work, stdin, case.stdout_redirect)
    else:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, env=env, cwd=work, timeout=RUN_TIMEOUT
        )
        result = RunResult(done.stdout, done.stderr, done.returncode)
    result.files = collect_files(case, root)
    result.listings = list_directories(case, root)
    result.written_workflows = written_files(case, root, "**/.pflow/workflows/*.json")
    result.written_records = written_files(case, root, "**/runs/*/record.json")
    return result


def written_files(case: Case, root: Path, pattern: str) -> dict[str, bytes]:
    """Files under the case's home matching `pattern` that differ from its fixture files."""
    written: dict[str, bytes] = {}
    for path in sorted((root / "home").glob(pattern)):
        relative = path.relative_to(root)
        fixture = case.directory / relative
        data = path.read_bytes()
        if not fixture.is_file() or fixture.read_bytes() != data:
            written[str(relative)] = data
    return written


def collect_files(case: Case, root: Path) -> dict[str, bytes]:
    """Files the case asks to snapshot; each glob must match exactly one file."""
    files: dict[str, bytes] = {}
    for key, pattern in case.collect.items():
        matches = sorted(root.glob(pattern))
        if len(matches) != 1:
            found = [str(m.relative_to(root)) for m in matches]
            raise AssertionError(f"collect.{key}: {pattern!r} matched {found}, not one file")
        files[key] = matches[0].read_bytes()
    return files


def list_directories(case: Case, root: Path) -> dict[str, bytes]:
    """Sorted listings of the directories the case asks to snapshot."""
    listings: dict[str, bytes] = {}
    for key, relative in case.list_dirs.items():
        folder = root / relative
        if not folder.is_dir():
            listings[key] = b"(no such directory)\n"
            continue
        entries = sorted(
            p.relative_to(folder).as_posix() + ("/" if p.is_dir() else "")
            for p in folder.rglob("*")
        )
        listings[key] = "".join(f"{entry}\n" for entry in entries).encode("utf-8")
    return listings


def _run_tty(
    argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes, side: str, typed: bytes
) -> RunResult:
    """A 24x80 pseudo-terminal as stdin and stdout ("both"), or as only one of them.

    stderr is always a pipe, and `typed` is keyed in on the terminal. "stdout": stdin is a
    file holding `stdin` (as `cat f | pflow` in a terminal). "stdin": stdout is a pipe (as
    `pflow ... | less`); what the terminal echoes is not a stream of pflow and is dropped.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with tempfile.TemporaryFile() as stdin_file:
        stdin_file.write(stdin)
        stdin_file.seek(0)
        proc = subprocess.Popen(
            argv,
            stdin=slave if side in ("both", "stdin") else stdin_file,
            stdout=slave if side in ("both", "stdout") else subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    os.close(slave)
    if typed:
        os.write(master, typed)
    assert proc.stderr is not None
    out_fd = master if proc.stdout is None else proc.stdout.fileno()
    buffers = {master: bytearray(), proc.stderr.fileno(): bytearray(), out_fd: bytearray()}
    _drain(buffers, proc)
    os.close(master)
    out, err = buffers[out_fd], buffers[proc.stderr.fileno()]
    return RunResult(bytes(out), bytes(err), proc.wait(RUN_TIMEOUT))


def _run_redirected(
    argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes, target: str
) -> RunResult:
    """Run with stdout on /dev/full, or with descriptor 1 closed ("closed")."""
    with open("/dev/full" if target == "/dev/full" else os.devnull, "wb") as sink:
        done = subprocess.run(
            argv,
            input=stdin,
            stdout=sink,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            timeout=RUN_TIMEOUT,
            # runs after the child's descriptors are set up: 1 is then closed for pflow
            preexec_fn=(lambda: os.close(1)) if target == "closed" else None,
        )
    return RunResult(b"", done.stderr, done.returncode)


def _run_interrupted(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    stdin: bytes,
    marker: Path,
    signum: int = signal.SIGINT,
) -> RunResult:
    """Send `signum` (SIGINT: as Ctrl-C would) once the workflow has created `marker`."""
    with tempfile.TemporaryFile() as stdin_file:  # a file: communicate() below has no stdin
        stdin_file.write(stdin)
        stdin_file.seek(0)
        proc = subprocess.Popen(
            argv,
            stdin=stdin_file,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
        )
    deadline = time.monotonic() + RUN_TIMEOUT
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    time.sleep(0.05)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=RUN_TIMEOUT)
    return RunResult(out, err, proc.returncode)


def _run_closing_stdout(
    argv: list[str], env: dict[str, str], cwd: Path, stdin: bytes, keep: int
) -> RunResult:
    """Read `keep` bytes of stdout, then close the pipe as `| head -c N` would."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    head = proc.stdout.read(keep)
    proc.stdout.close()
    err = proc.stderr.read()
    return RunResult(head, err, proc.wait(timeout=RUN_TIMEOUT))


def _drain(buffers: dict[int, bytearray], proc: subprocess.Popen[bytes]) -> None:
    """Read every fd of `buffers` (the terminal's master first) to its end."""
    master = next(iter(buffers))
    open_fds = set(buffers)
    deadline = time.monotonic() + RUN_TIMEOUT
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 0.1)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other side closed
                chunk = b""
            if chunk:
                buffers[fd] += chunk
            else:
                open_fds.discard(fd)
        if not ready and proc.poll() is not None and master in open_fds:
            # The child exited; anything left on the terminal is readable right now.
            continue


def _fill_work(folder: Path, work: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if b"{{WORK}}" in data:
                path.write_bytes(data.replace(b"{{WORK}}", str(work).encode("utf-8")))


def _fill_ports(folder: Path, ports: Ports) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if b"{{PORT}}" in data or b"{{REFUSED_PORT}}" in data:
                path.write_bytes(ports.fill(data.decode("utf-8")).encode("utf-8"))
