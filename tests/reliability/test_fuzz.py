"""Fuzz `pflow run` with generated and mutated workflows: it must never crash.

Three sources of workflows, each drawn by hypothesis with a fixed seed per shard (so a run is
reproducible with the same hypothesis version):

- `schema`: hypothesis-jsonschema's `from_schema` on the IR schema as shipped, and on a tuned
  copy whose node types, ids, edges and params name real things (so runs get past validation);
- `structural`: a hand-written strategy of structurally valid workflows with real node types,
  random wiring (error edges, custom actions, bounded loops) and templates, valid or not;
- `mutation`: the workflows of examples/ with keys dropped or duplicated, values replaced by
  random JSON (other types, huge strings, lone surrogates, deep nesting, NaN), node ids renamed,
  edges broken or added, and the file's bytes truncated or salted with invalid UTF-8.

Every workflow runs once as `python -m pflow run FILE ...` (text or JSON mode, with random
parameters and options) in a fresh directory with HOME and PFLOW_HOME inside it and stdin from
/dev/null. A run passes when: no traceback and no "probably a bug" on stdout or stderr, the
exit code is 0, 1, 3 or 4, stdout is UTF-8, in JSON mode stdout is exactly one JSON document
(strict RFC 8259: no NaN) whose `success` says whether the exit code is 0, and it took < 20 s.

Nothing may reach the network or leave the run's directory, and nothing may loop forever:
before a workflow is written, `make_safe` confines path params (`./` in front), replaces any
shell command not on a fixed harmless list by a `printf` of its text, points HTTP nodes at a
closed local port, caps echo repeats, and gives every shell node on a cycle a pass counter
that removes the node's working directory after GUARD_PASSES passes (the next pass then stops
the run with an error). Workflows with a cycle no shell node can bound are not drawn.

Skipped unless PFLOW_FUZZ=1: `nox -s fuzz` runs it. PFLOW_FUZZ_EXAMPLES (workflows per
source, default 700), PFLOW_FUZZ_SHARDS (tests per source, default 4), PFLOW_FUZZ_JOBS
(parallel runs per test, default 2) and PFLOW_FUZZ_SUMMARY (where the figures and failing
cases go) tune it. `python tests/reliability/test_fuzz.py DIR` prints the figures of DIR.
Figures and how to reproduce a failure: tests/reliability/README.md.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from hypothesis import strategies as st

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("PFLOW_FUZZ") != "1",
        reason="fuzz run: set PFLOW_FUZZ=1 (nox -s fuzz)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_PER_SOURCE = int(os.environ.get("PFLOW_FUZZ_EXAMPLES", "700"))
SHARDS = int(os.environ.get("PFLOW_FUZZ_SHARDS", "4"))
JOBS = int(os.environ.get("PFLOW_FUZZ_JOBS", "2"))
RUN_TIMEOUT = 20.0
ALLOWED_EXIT_CODES = frozenset({0, 1, 3, 4})
GUARD_PASSES = 25
MEMORY_LIMIT = 4 * 1024**3  # address space of one pflow run
SOURCE_SEEDS = {"schema": 1000, "structural": 2000, "mutation": 3000}

NODE_TYPES = (
    "shell",
    "read-file",
    "write-file",
    "copy-file",
    "move-file",
    "delete-file",
    "http",
    "llm",
    "echo",
)
OUTPUTS = {
    "shell": ("stdout", "stderr", "exit_code", "error"),
    "read-file": ("content", "file_path", "error"),
    "write-file": ("written", "file_path", "error"),
    "copy-file": ("copied", "error"),
    "move-file": ("moved", "error"),
    "delete-file": ("deleted", "error"),
    "http": ("response", "status_code", "response_headers", "response_time", "error"),
    "llm": ("response", "llm_usage"),
    "echo": ("echo", "metadata", "data"),
}

# Shell commands a workflow may run as they are: quick, harmless, bounded.
SAFE_COMMANDS = (
    "echo hi",
    "true",
    "false",
    "printf x",
    "cat",
    "exit 3",
    "echo oops >&2; exit 1",
    "printf 'a\\nb\\r\\nc'",
    "printf '\\377\\376 not utf-8\\n'",
    "printf '%s' '{\"k\": [1, 2.5, null]}'",
    "printf '\\033[31mred\\033[0m\\n'",
    "sleep 0.3",
    'echo "$V"',
    "wc -c",
    "head -c 100000 /dev/zero | tr '\\0' x",
)
# ...and `echo ${ID.exit_code}`: the value is an integer, so the command stays harmless.
_EXIT_CODE_COMMAND = re.compile(r"echo \$\{[A-Za-z_][A-Za-z0-9_-]*\.exit_code\}")
PATH_PARAMS = ("file_path", "source_path", "dest_path", "cwd")
FILE_PATHS = (
    "in.txt",
    "latin1.txt",
    "bin.dat",
    "link.txt",
    "missing.txt",
    "sub",
    "out/a.txt",
    "out/b.json",
    "deep/a/b/c.txt",
    "~/home-file.txt",
    "sub/",
    ".",
    "",
)
SAFE_URLS = (
    "http://127.0.0.1:9/",
    "http://127.0.0.1:9/x?y=1&z=%FF",
    "https://127.0.0.1:9/",
    "http://localhost:9/a",
    "notaurl",
    "ftp://127.0.0.1:9/",
    "http://",
    "http://[::1",
    "",
)
_CLOSED_PORT = "http://127.0.0.1:9/"
# Env values the examples' commands use as file names (written or read by the command).
PATH_ENV_KEYS = ("COUNTER", "FILE")


# --- JSON text with duplicate keys and raw (unparsable to Python) parts ----------------------


class Raw:
    """JSON text written as it is: deep nesting, NaN, numbers Python cannot hold."""

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self.label = label

    def __repr__(self) -> str:
        return f"Raw({self.label})"


class Dup(dict):  # type: ignore[type-arg]
    """An object written with `extras` (key, value) pairs before its own members.

    The members come last, so a parser keeping the last duplicate sees the dict itself; the
    extra values are chosen so that even the other choice runs nothing harmful.
    """

    def __init__(self, base: dict[str, Any], extras: list[tuple[str, Any]]) -> None:
        super().__init__(base)
        self.extras = extras


def to_json(value: Any, *, ascii_only: bool, pretty: bool) -> str:
    sep = ",\n " if pretty else ","
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        pairs = [*getattr(value, "extras", []), *value.items()]
        return (
            "{"
            + sep.join(
                f"{to_json(str(k), ascii_only=ascii_only, pretty=pretty)}: "
                f"{to_json(v, ascii_only=ascii_only, pretty=pretty)}"
                for k, v in pairs
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + sep.join(to_json(v, ascii_only=ascii_only, pretty=pretty) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def encode(value: Any, *, ascii_only: bool, pretty: bool) -> bytes:
    # Lone surrogates become the (invalid) UTF-8 of their code points when not escaped.
    return to_json(value, ascii_only=ascii_only, pretty=pretty).encode("utf-8", "surrogatepass")


# --- making a workflow safe to run ----------------------------------------------------------


def effective_ir(doc: Any) -> Any:
    """What pflow runs from a document: its `ir` member when that is an object, else itself."""
    if isinstance(doc, dict) and isinstance(doc.get("ir"), dict):
        return doc["ir"]
    return doc


def _nodes(ir: Any) -> list[dict[str, Any]]:
    nodes = ir.get("nodes") if isinstance(ir, dict) else None
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def _guardable(node: dict[str, Any]) -> bool:
    params = node.get("params")
    return (
        node.get("type") == "shell"
        and isinstance(params, dict)
        and isinstance(params.get("command"), str)
    )


def _cyclic(edges: dict[str, set[str]], keep: set[str]) -> set[str]:
    """Nodes of `keep` left after pruning those without an in- or out-edge inside the set."""
    left = set(keep)
    while True:
        outs = {a for a in left if edges.get(a, set()) & left}
        ins = {b for a in left for b in edges.get(a, set()) if b in left}
        pruned = left & outs & ins
        if pruned == left:
            return left
        left = pruned


def _graph(ir: Any) -> tuple[dict[str, set[str]], set[str]]:
    ids = {n["id"] for n in _nodes(ir) if isinstance(n.get("id"), str)}
    raw_edges = ir.get("edges") if isinstance(ir, dict) else None
    graph: dict[str, set[str]] = {}
    if isinstance(raw_edges, list):  # no `edges` key: a chain in list order, no cycle
        for edge in raw_edges:
            if isinstance(edge, dict):
                src, dst = edge.get("from"), edge.get("to")
                if isinstance(src, str) and isinstance(dst, str) and {src, dst} <= ids:
                    graph.setdefault(src, set()).add(dst)
    return graph, ids


def loop_guards(ir: Any) -> tuple[set[str], bool]:
    """(ids of the shell nodes to guard, whether every cycle then goes through one)."""
    graph, ids = _graph(ir)
    cyclic = _cyclic(graph, ids)
    nodes = _nodes(ir)
    guarded = {i for i in cyclic if all(_guardable(n) for n in nodes if n.get("id") == i)}
    # A node type that does not exist stops the run before any node runs (CompilationError).
    runnable = all(n.get("type") in NODE_TYPES for n in nodes)
    return guarded, not runnable or not _cyclic(graph, ids - guarded)


def bounded(doc: Any) -> bool:
    return loop_guards(effective_ir(doc))[1]


def _confine_path(value: Any) -> Any:
    if isinstance(value, str) and not (value.startswith("./") or value in FILE_PATHS):
        return "./" + value
    return value


def _safe_command(command: Any) -> Any:
    if not isinstance(command, str) or command in SAFE_COMMANDS:
        return command
    if command in HARDENED_COMMANDS or _EXIT_CODE_COMMAND.fullmatch(command):
        return command
    # Print the text instead of running it; "${" is broken up so no value is pasted in.
    return "printf '%s\\n' " + shlex.quote(command.replace("${", "$ {"))


def _safe_url(url: Any) -> Any:
    if not isinstance(url, str) or url in SAFE_URLS or url.startswith(_CLOSED_PORT):
        return url
    return _CLOSED_PORT + urllib.parse.quote(url.encode("utf-8", "surrogatepass")[:300], safe="")


def make_safe(doc: Any, run_dir: Path) -> None:
    """Confine every node of `doc` (and of its `ir`) in place; guard the loops (see top)."""
    irs = [doc] + ([doc["ir"]] if isinstance(doc, dict) and isinstance(doc.get("ir"), dict) else [])
    for ir in irs:
        for node in _nodes(ir):
            params = node.get("params")
            if not isinstance(params, dict):
                continue
            for key in PATH_PARAMS:
                if key in params:
                    params[key] = _confine_path(params[key])
            if "command" in params:
                params["command"] = _safe_command(params["command"])
            if "url" in params:
                params["url"] = _safe_url(params["url"])
            env = params.get("env")
            if isinstance(env, dict):
                for key in PATH_ENV_KEYS:
                    if key in env:
                        env[key] = _confine_path(env[key])
            count = params.get("count")
            if isinstance(count, int) and not isinstance(count, bool) and count > 20:
                params["count"] = 20
    ir = effective_ir(doc)
    guarded, ok = loop_guards(ir)
    assert ok, "a workflow with an unbounded cycle was drawn"
    for index, node in enumerate(_nodes(ir)):
        if isinstance(node.get("id"), str) and node["id"] in guarded:
            guard_dir = run_dir / "guards" / str(index)
            guard_dir.mkdir(parents=True)
            params = node["params"]
            params["cwd"] = str(guard_dir)
            params["command"] = (
                'n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > count; '
                f'if [ "$n" -ge {GUARD_PASSES} ]; then rm -rf {shlex.quote(str(guard_dir))}; fi; '
                f"cd {shlex.quote(str(run_dir))} || exit 97; {params['command']}"
            )


# --- the examples, hardened -------------------------------------------------------------------


def _load_examples() -> dict[str, Any]:
    examples = {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "examples").glob("*.json"))
    }
    # params.json repeats a word $TIMES times in a shell loop: cap it, whatever TIMES becomes.
    node = examples["params.json"]["nodes"][0]["params"]
    capped = node["command"].replace(
        'while [ "$i" -lt "$TIMES" ];', 'while [ "$i" -lt "$TIMES" ] && [ "$i" -lt 200 ];'
    )
    assert capped != node["command"], "examples/params.json changed: update the fuzz's cap"
    node["command"] = capped
    return examples


EXAMPLES = _load_examples()
HARDENED_COMMANDS = frozenset(
    n["params"]["command"]
    for doc in EXAMPLES.values()
    for n in doc["nodes"]
    if n["type"] == "shell"
)


# --- what one run is, and running it ----------------------------------------------------------


@dataclass
class Case:
    source: str
    doc: Any
    json_mode: bool
    options: list[str]
    params: list[str | bytes]
    options_first: bool = True
    dashdash: bool = False
    path_style: str = "plain"
    ascii_only: bool = True
    pretty: bool = True
    byte_ops: list[tuple[str, float, bytes]] = field(default_factory=list)


def _apply_byte_op(data: bytes, op: tuple[str, float, bytes]) -> bytes:
    kind, where, payload = op
    at = int(len(data) * where)
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "append":
        return data + payload
    if kind == "empty":
        return b""
    raise AssertionError(kind)


def _seed_files(run_dir: Path) -> None:
    (run_dir / "in.txt").write_text("hello\nworld\n", encoding="utf-8")
    (run_dir / "latin1.txt").write_bytes(b"caf\xe9\n")
    (run_dir / "bin.dat").write_bytes(b"\x00\xff\xfe\x80binary")
    (run_dir / "link.txt").symlink_to("in.txt")
    (run_dir / "sub").mkdir()
    for name in ("home", "tmp", "pflow-home"):
        (run_dir / name).mkdir()


def _env(run_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(run_dir / "home"),
        "PFLOW_HOME": str(run_dir / "pflow-home"),
        "LLM_USER_PATH": str(run_dir / "home" / "llm"),
        "TMPDIR": str(run_dir / "tmp"),
        "PFLOW_INCLUDE_TEST_NODES": "1",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _write_workflow(case: Case, run_dir: Path) -> str:
    """Write the case's file; return the workflow argument to pass to `pflow run`."""
    doc = copy.deepcopy(case.doc)
    make_safe(doc, run_dir)
    data = encode(doc, ascii_only=case.ascii_only, pretty=case.pretty)
    for op in case.byte_ops:
        data = _apply_byte_op(data, op)
    name = {"noext": "wf", "unicode": "wörk flow ✓.json"}.get(case.path_style, "wf.json")
    path = run_dir / name
    if case.path_style == "dir":
        path.mkdir()
    elif case.path_style == "fifo":
        os.mkfifo(path)
    elif case.path_style != "missing":
        path.write_bytes(data)
    if case.path_style == "abs":
        return str(path)
    return name if case.path_style in ("plain", "unicode") else f"./{name}"


def _argv(case: Case, workflow: str) -> list[str | bytes]:
    params: list[str | bytes] = list(case.params)
    if case.dashdash:  # after --, every word is a parameter: options must come first
        return ["run", *case.options, workflow, "--", *params]
    if case.options_first:
        return ["run", *case.options, workflow, *params]
    return ["run", workflow, *params, *case.options]


_EXCEPTION = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Exit|Interrupt))(?::\s?(.*))?$", re.M)
_UNEXPECTED = re.compile(r"Unexpected (\w+): ([^\n\"]{0,70})")


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_run(
    case: Case, rc: int | None, out: bytes, err: bytes, secs: float
) -> tuple[list[str], str, str | None]:
    """The problems of one run, a short signature to group alike failures, the error type."""
    problems: list[str] = []
    error_type: str | None = None
    if rc is None:
        problems.append(f"still running after {RUN_TIMEOUT:g} s (killed)")
    elif rc not in ALLOWED_EXIT_CODES:
        problems.append(f"exit code {rc}")
    texts = {"stdout": out.decode("utf-8", "replace"), "stderr": err.decode("utf-8", "replace")}
    for stream, text in texts.items():
        if "Traceback (most recent call last)" in text:
            problems.append(f"traceback on {stream}")
        if "probably a bug" in text:
            problems.append(f"'probably a bug' on {stream}")
    try:
        out_text = out.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"stdout is not UTF-8 ({exc.reason} at byte {exc.start})")
        out_text = None
    if case.json_mode and out_text is not None and rc is not None:
        try:
            document = json.loads(out_text, parse_constant=_strict_constant)
        except (ValueError, RecursionError) as exc:
            problems.append(f"stdout is not exactly one JSON document ({str(exc)[:60]})")
        else:
            if not isinstance(document, dict) or document.get("success") is not (rc == 0):
                problems.append("JSON 'success' does not match the exit code")
            elif isinstance(document.get("error"), dict):
                error_type = str(document["error"].get("type"))
    if secs >= RUN_TIMEOUT:
        problems.append(f"took {secs:.1f} s")
    signature = ""
    if problems:
        text = texts["stderr"] + "\n" + texts["stdout"]
        found = _UNEXPECTED.search(text)
        lines = [m for m in _EXCEPTION.finditer(text) if "Traceback" in text[: m.start()]]
        if lines:
            name, message = lines[-1].group(1), lines[-1].group(2) or ""
            signature = f"{name}: {message[:70]}"
        elif found:
            signature = f"{found.group(1)}: {found.group(2)}"
        signature = " | ".join([*sorted({p.split(" (")[0] for p in problems}), signature])
    return problems, signature, error_type


def run_case(case: Case, index: int, work: Path, keep: Path) -> dict[str, Any]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"{case.source}-{index}-", dir=work)).resolve()
    _seed_files(run_dir)
    workflow = _write_workflow(case, run_dir)
    argv = _argv(case, workflow)
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pflow", *argv],
        cwd=run_dir,
        env=_env(run_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # A run that needs gigabytes ends with a MemoryError (reported) instead of the OOM killer.
    with contextlib.suppress(OSError):
        resource.prlimit(proc.pid, resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        rc = None
    secs = time.monotonic() - start
    problems, signature, error_type = check_run(case, rc, out, err, secs)
    result: dict[str, Any] = {
        "index": index,
        "rc": rc,
        "json": case.json_mode,
        "secs": round(secs, 3),
        "problems": problems,
        "signature": signature,
        "error_type": error_type,
    }
    if problems:
        kept = keep / run_dir.name
        shutil.rmtree(kept, ignore_errors=True)
        shutil.move(str(run_dir), kept)
        words = [a if isinstance(a, str) else a.decode("utf-8", "surrogateescape") for a in argv]
        command = "PFLOW_INCLUDE_TEST_NODES=1 pflow " + " ".join(shlex.quote(w) for w in words)
        (kept / "COMMAND").write_text(command + "\n", encoding="utf-8", errors="surrogateescape")
        (kept / "STDOUT").write_bytes(out)
        (kept / "STDERR").write_bytes(err)
        (kept / "PROBLEMS").write_text("\n".join(problems) + "\n", encoding="utf-8")
        result.update(
            dir=str(kept), command=command, stderr_head=err[:600].decode(errors="replace")
        )
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


# --- strategies: values, options ------------------------------------------------------------

SPECIAL_STRINGS = (
    "\ud800",
    "a\udfffb",
    "\udcff",
    "\x00",
    "\u202e\u0301",
    "é",
    "😀" * 3,
    "\n",
    "${",
    "${x}",
    "$${x}",
    "${stdin}",
    "${a.stdout}",
    "${a.b.c[0][99]}",
    "${nope.x}",
    "x" * 100_000,
    "é" * 40_000,
    "${a.stdout} " * 2_000,
    " ",
)


def _deep(kind: str, depth: int) -> Raw:
    if kind == "list":
        return Raw("[" * depth + "]" * depth, f"list*{depth}")
    return Raw('{"a": ' * depth + "1" + "}" * depth, f"object*{depth}")


SPECIAL_VALUES: tuple[Any, ...] = (
    *SPECIAL_STRINGS,
    10**100,
    -(2**63),
    1e308,
    -0.0,
    True,
    None,
    _deep("list", 50),
    _deep("list", 101),
    _deep("list", 1_000),
    _deep("object", 5_000),
    _deep("list", 200_000),
    _deep("object", 200_000),
    Raw("NaN", "NaN"),
    Raw("-Infinity", "-Infinity"),
    Raw("1e999", "1e999"),
    Raw("1" + "0" * 5_000, "5001-digit integer"),
)


def one_in(draw: st.DrawFn, n: int) -> bool:
    """True about once in `n` draws (hypothesis favours the ends of a range: avoid them)."""
    return draw(st.integers(0, 10 * n - 1)) % n == n // 2


_text = st.text(max_size=20)
# Ordinary JSON values, for workflows meant to get past validation...
_tame_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
tame_json = st.recursive(
    _tame_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
# ...and wild ones: any size of integer, NaN, lone surrogates, huge strings, deep nesting.
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | _text
    | st.sampled_from(SPECIAL_VALUES)
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
# Text that can be an argv word (no NUL; surrogates only as invalid bytes, below).
_arg_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24
)
PARAM_VALUES = (
    "1",
    "-5",
    "1e3",
    "007",
    "1_000",
    "nan",
    "inf",
    "true",
    "FALSE",
    "[1, 2]",
    '{"a": {"b": [1]}}',
    "{bad",
    "",
    "x" * 10_000,
    "[" * 500 + "]" * 500,
    "${x}",
    "line\nbreak",
)
VALID_PARAM_VALUES: dict[Any, tuple[str, ...]] = {
    "string": ("Ada", "", "two words", "é ✓", "a=b", "${x}"),
    "number": ("3", "0", "-1", "2.5", "1e3", " 7 "),
    "boolean": ("true", "false", "TRUE"),
    "array": ('["a", 1]', "[]", "[[1]]"),
    "object": ('{"k": 1}', "{}", '{"a": {"b": null}}'),
}
OUTPUT_KEYS = ("greeting", "stdout", "a.stdout", "a.exit_code", "nope", "x[0]", "", "a..b", "é")
_KEY_POOL = ("x", "name", "stdin", "bad key", "$x", "ü", "a", "", "n|m")


@st.composite
def param_word(draw: st.DrawFn, key: str) -> str | bytes:
    """`key=value` with a random value (now and then invalid UTF-8 bytes)."""
    if one_in(draw, 10):
        raw = draw(st.binary(min_size=1, max_size=8)).replace(b"\x00", b"\xff")
        return key.encode() + b"=" + raw
    value = draw(st.sampled_from(PARAM_VALUES) | _arg_text)
    return f"{key}={value}"


_not_argv = re.compile("[\x00\ud800-\udfff]")


@st.composite
def cli_params(draw: st.DrawFn, inputs: Any) -> list[str | bytes]:
    """Parameters for a workflow's declared `inputs`: mostly fitting, sometimes not."""
    words: list[str | bytes] = []
    if isinstance(inputs, dict) and inputs:
        for name, decl in inputs.items():
            if not isinstance(name, str) or name.startswith("-") or _not_argv.search(name):
                continue  # "-x=1" is an option (usage error, exit 2); NUL cannot be in argv
            kind = decl.get("type") if isinstance(decl, dict) else None
            choice = draw(st.integers(0, 9))
            if choice in (1, 2):  # left out
                continue
            if choice == 5:
                words.append(draw(param_word(name)))
            elif isinstance(kind, str) and kind in VALID_PARAM_VALUES:
                words.append(f"{name}={draw(st.sampled_from(VALID_PARAM_VALUES[kind]))}")
            else:
                words.append(f"{name}={draw(st.sampled_from(VALID_PARAM_VALUES['string']))}")
        if one_in(draw, 8):
            words.append(draw(param_word(draw(st.sampled_from(_KEY_POOL)))))
    else:
        for _ in range(draw(st.integers(0, 2))):
            words.append(draw(param_word(draw(st.sampled_from(_KEY_POOL)))))
    return words


PATH_STYLES = ("dot", "abs", "noext", "unicode", "dir", "fifo", "missing")


@st.composite
def run_settings(draw: st.DrawFn, inputs: Any = None) -> dict[str, Any]:
    json_mode = draw(st.booleans())
    options: list[str] = []
    if json_mode:
        options += ["--output-format", "JSON" if one_in(draw, 5) else "json"]
    elif draw(st.booleans()):
        options += ["--output-format", "text"]
    if one_in(draw, 8):
        options.append("--keep-going")
    if one_in(draw, 10):
        options.append("--trace")
    if one_in(draw, 10):
        options.append("-p")
    if one_in(draw, 8):
        options += ["-o", draw(st.sampled_from(OUTPUT_KEYS))]
    style = "plain"
    if one_in(draw, 8):  # dot, abs, noext and unicode about 1 in 40 each; the rest 1 in 200
        style = PATH_STYLES[draw(st.integers(0, 9)) % 4] if draw(st.integers(0, 4)) else "plain"
        if one_in(draw, 5):
            style = PATH_STYLES[4 + draw(st.integers(0, 2))]
    return {
        "json_mode": json_mode,
        "options": options,
        "params": draw(cli_params(inputs)),
        "options_first": draw(st.booleans()),
        "dashdash": one_in(draw, 10),
        "path_style": style,
    }


# --- source 1: hypothesis-jsonschema on the IR schema -----------------------------------------


def _ir_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (ROOT / "schemas" / "workflow-ir.schema.json").read_text(encoding="utf-8")
    )
    return schema


def tuned_schema() -> dict[str, Any]:
    """The IR schema with names from a small world, so drawn workflows often get to run.

    A node is one of the real node types with its required params (or, now and then, the
    schema's own free-form node); ids, edges, inputs and output sources come from short lists.
    """
    schema = _ir_schema()
    defs = schema["$defs"]
    ids = ["a", "b", "c", "x"]  # x is also an input name
    templates = [f"${{{i}.{k}}}" for i in "abc" for k in ("stdout", "exit_code", "echo")]
    text = {"anyOf": [{"type": "string", "maxLength": 12}, {"enum": [*templates, "${x}"]}]}
    paths = {"enum": list(FILE_PATHS)}
    boolean = {"anyOf": [{"type": "boolean"}, {"enum": ["${x}", "true"]}]}
    commands = [*SAFE_COMMANDS, "echo ${a.exit_code}", "echo ${nope.exit_code}"]
    params: dict[str, tuple[dict[str, Any], list[str]]] = {
        "shell": (
            {
                "command": {"enum": commands},
                "stdin": text,
                "env": {"type": "object", "additionalProperties": text, "maxProperties": 2},
                "timeout": {"type": "number", "minimum": -1, "maximum": 2},
                "ignore_errors": boolean,
                "cwd": {"enum": ["sub", "missing", "."]},
            },
            ["command"],
        ),
        "read-file": (
            {"file_path": paths, "encoding": {"enum": ["utf-8", "latin-1", "x"]}},
            ["file_path"],
        ),
        "write-file": (
            {"file_path": paths, "content": {}, "append": boolean},
            ["file_path", "content"],
        ),
        "copy-file": (
            {"source_path": paths, "dest_path": paths, "overwrite": boolean},
            ["source_path", "dest_path"],
        ),
        "move-file": ({"source_path": paths, "dest_path": paths}, ["source_path", "dest_path"]),
        "delete-file": (
            {"file_path": paths, "confirm_delete": boolean},
            ["file_path", "confirm_delete"],
        ),
        "http": (
            {
                "url": {"enum": list(SAFE_URLS)},
                "method": {"enum": ["GET", "post", "BREW"]},
                "body": {},
                "timeout": {"enum": [0.2, 1, "1"]},
            },
            ["url", "timeout"],
        ),
        "llm": (
            {
                "prompt": text,
                "model": {"enum": ["echo", "no-such-model"]},
                "temperature": {"type": "number", "minimum": -1, "maximum": 3},
            },
            ["prompt"],
        ),
        "echo": (
            {
                "message": text,
                "count": {"type": "integer", "minimum": -2, "maximum": 20},
                "uppercase": boolean,
                "data": {},
            },
            [],
        ),
    }
    free_node = copy.deepcopy(defs["node"])
    free_node["properties"]["id"] = {"enum": ids}
    free_node["properties"]["type"] = {"enum": [*NODE_TYPES, "nope", "Shell"]}
    defs["node"] = {
        "anyOf": [
            {
                "type": "object",
                "required": ["id", "type", "params"],
                "additionalProperties": False,
                "properties": {
                    "id": {"enum": ids},
                    "type": {"const": node_type},
                    "params": {
                        "type": "object",
                        "properties": props,
                        "required": required,
                        "additionalProperties": False,
                    },
                    "purpose": {"type": "string", "maxLength": 8},
                },
            }
            for node_type, (props, required) in params.items()
        ]
        + [free_node],
    }
    edge = defs["edge"]["properties"]
    edge["from"] = {"enum": [*ids, "zz"]}
    edge["to"] = {"enum": [*ids, "zz"]}
    edge["action"] = {"enum": ["default", "error", "custom", ""]}
    schema["properties"]["nodes"]["maxItems"] = 4
    schema["properties"]["edges"]["maxItems"] = 5
    schema["properties"]["ir_version"] = {"const": "0.1.0"}
    schema["properties"]["inputs"]["propertyNames"] = {"enum": ["x", "name", "n"]}
    schema["properties"]["outputs"]["propertyNames"] = {"enum": ["out", "result"]}
    defs["input"]["properties"]["description"] = {"type": "string", "maxLength": 8}
    defs["output"]["properties"]["source"] = {
        "enum": ["${a.stdout}", "a.exit_code", "$b.echo", "${x}", "${nope}", "c.content", "a"]
    }
    schema["properties"].pop("mappings")
    return schema


def _repair(doc: dict[str, Any]) -> None:
    """Unique node ids in list order, edges and start_node between them (tuned drafts only)."""
    nodes = [n for n in doc["nodes"] if isinstance(n, dict)]
    names = ["a", "b", "c", "x"]
    for node, name in zip(nodes, names, strict=False):
        node["id"] = name
    present = names[: len(nodes)]
    for edge in doc.get("edges", []):
        for end in ("from", "to"):
            if edge.get(end) in names and edge[end] not in present:
                edge[end] = present[names.index(edge[end]) % len(present)]
    if doc.get("start_node") not in present:
        doc.pop("start_node", None)


@st.composite
def schema_cases(draw: st.DrawFn) -> Case:
    from hypothesis_jsonschema import from_schema

    global _SCHEMA_STRATEGIES
    if _SCHEMA_STRATEGIES is None:
        _SCHEMA_STRATEGIES = (from_schema(_ir_schema()), from_schema(tuned_schema()))
    raw, tuned = _SCHEMA_STRATEGIES
    if one_in(draw, 3):
        doc = draw(raw)
    else:
        doc = draw(tuned)
        if not one_in(draw, 4):
            _repair(doc)
    assume(bounded(doc))
    return Case("schema", doc, **draw(run_settings(doc.get("inputs"))))


_SCHEMA_STRATEGIES: tuple[Any, Any] | None = None


# --- source 2: structurally valid workflows -------------------------------------------------

ID_POOL = ("a", "b", "c", "fetch", "step_2", "x-y", "_u", "load", "save")
INPUT_POOL = ("name", "n", "flag", "items", "cfg", "path")


@st.composite
def _value_for(draw: st.DrawFn, kind: str | None) -> Any:
    by_kind: dict[str | None, st.SearchStrategy[Any]] = {
        "string": st.text(max_size=12),
        "number": st.integers(-3, 30) | st.floats(-1e3, 1e3),
        "boolean": st.booleans(),
        "array": st.lists(st.integers() | st.text(max_size=4), max_size=3),
        "object": st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
        None: tame_json,
    }
    if one_in(draw, 10):  # the wrong type now and then
        return draw(tame_json)
    return draw(by_kind[kind])


@st.composite
def _ref(draw: st.DrawFn, earlier: list[tuple[str, str]], inputs: list[str]) -> str:
    """A template that usually names something real."""
    valid: list[str] = [f"${{{i}}}" for i in inputs]
    for node_id, node_type in earlier:
        valid += [f"${{{node_id}.{key}}}" for key in OUTPUTS[node_type]]
        if node_type == "echo":
            valid.append(f"${{{node_id}.metadata.count}}")
    invalid = [
        "${nope}",
        "${stdin}",
        "$${escaped}",
        "${a.response.items[0].name}",
        "${a.stdout[0]}",
    ]
    if earlier:
        node_id = earlier[-1][0]
        invalid += [f"${{{node_id}}}", f"${{{node_id}.nosuch}}"]
    ref = draw(st.sampled_from(invalid if one_in(draw, 5) or not valid else valid))
    return ref if draw(st.booleans()) else f"pre {ref} post"


@st.composite
def _text_or_ref(draw: st.DrawFn, earlier: list[tuple[str, str]], inputs: list[str]) -> Any:
    if draw(st.booleans()):
        return draw(_ref(earlier, inputs))
    return draw(st.text(max_size=12) | st.sampled_from(SPECIAL_STRINGS[:12]))


@st.composite
def _params(
    draw: st.DrawFn,
    node_type: str,
    earlier: list[tuple[str, str]],
    inputs: list[str],
) -> dict[str, Any]:
    value = _text_or_ref(earlier, inputs)
    some = st.booleans()
    p: dict[str, Any] = {}
    if node_type == "shell":
        shells = [i for i, t in earlier if t == "shell"]
        commands = [*SAFE_COMMANDS, *(f"echo ${{{i}.exit_code}}" for i in shells)]
        p["command"] = draw(st.sampled_from(commands))
        if p["command"] == 'echo "$V"' or draw(some):
            p["env"] = {"V": draw(value)}
        if draw(some):
            p["stdin"] = draw(value | tame_json)
        if one_in(draw, 4):
            p["timeout"] = draw(st.sampled_from((0.1, 1, 5, 0, -1, "${n}", "5")))
        if one_in(draw, 4):
            p["ignore_errors"] = draw(st.sampled_from((True, False, "${flag}", "yes")))
        if one_in(draw, 6):
            p["cwd"] = draw(st.sampled_from(("sub", "missing-dir", "in.txt", "${path}", ".")))
    elif node_type == "echo":
        p["message"] = draw(value)
        for key, pool in (
            ("count", (0, 1, 3, -1, "${n}", "2")),
            ("prefix", ("> ", "${name}")),
            ("suffix", ("!", "", "!", 5)),
            ("uppercase", (True, False, "${flag}")),
        ):
            if draw(some):
                p[key] = draw(st.sampled_from(pool))
        if draw(some):
            p["data"] = draw(tame_json | _ref(earlier, inputs))
    elif node_type == "read-file":
        p["file_path"] = draw(st.sampled_from((*FILE_PATHS, "${path}")))
        if one_in(draw, 4):
            p["encoding"] = draw(st.sampled_from(("latin-1", "ascii", "utf-16", "nope", "")))
    elif node_type == "write-file":
        p["file_path"] = draw(st.sampled_from((*FILE_PATHS, "${path}")))
        p["content"] = draw(value | tame_json)
        if draw(some):
            p["append"] = draw(st.sampled_from((True, False, "${flag}")))
        if one_in(draw, 4):
            p["encoding"] = draw(st.sampled_from(("latin-1", "ascii", "utf-16", "nope")))
    elif node_type in ("copy-file", "move-file"):
        p["source_path"] = draw(st.sampled_from(FILE_PATHS))
        p["dest_path"] = draw(st.sampled_from(FILE_PATHS))
        if draw(some):
            p["overwrite"] = draw(st.booleans())
    elif node_type == "delete-file":
        p["file_path"] = draw(st.sampled_from(FILE_PATHS))
        if not one_in(draw, 5):
            p["confirm_delete"] = draw(st.sampled_from((True, True, False, "${flag}", "true")))
    elif node_type == "http":
        p["url"] = draw(st.sampled_from(SAFE_URLS))
        p["timeout"] = draw(st.sampled_from((0.2, 1, 0.5, "${n}")))
        if draw(some):
            p["method"] = draw(st.sampled_from(("GET", "post", "BREW", "", 5)))
        if draw(some):
            p["body"] = draw(tame_json | value)
        if one_in(draw, 4):
            p["headers"] = draw(st.sampled_from(({"X-A": "1"}, {"X-B": 2}, {"": "x"}, [])))
        if one_in(draw, 4):
            p["params"] = draw(st.sampled_from(({"q": [1, 2]}, {"q": None}, "x")))
    elif node_type == "llm":
        p["prompt"] = draw(value)
        if not one_in(draw, 4):
            p["model"] = draw(st.sampled_from(("echo", "echo", "no-such-model", "")))
        for key, pool in (
            ("system", ("be brief", "${name}")),
            ("temperature", (0, 0.5, 3, -1, "hot")),
            ("max_tokens", (1, 0, 100, 2.5)),
        ):
            if one_in(draw, 4):
                p[key] = draw(st.sampled_from(pool))
    if one_in(draw, 10):
        p[draw(st.sampled_from(("comand", "unknown", "Command")))] = draw(tame_json)
    return p


@st.composite
def structural_workflows(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 6))
    ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=count, max_size=count, unique=True))
    if one_in(draw, 20):
        ids[-1] = draw(st.sampled_from(("", "a.b", "a b", "é", "stdin", "name", ids[0])))
    inputs: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(INPUT_POOL), max_size=3, unique=True)):
        kind = draw(st.sampled_from((None, "string", "number", "boolean", "array", "object")))
        decl: dict[str, Any] = {} if kind is None else {"type": kind}
        if draw(st.booleans()):
            decl["default"] = draw(_value_for(kind))
        if one_in(draw, 4):
            decl["required"] = draw(st.booleans())
        if one_in(draw, 4):
            decl["description"] = draw(st.text(max_size=20))
        inputs[name] = decl
    weighted = ("shell",) * 6 + ("echo",) * 3 + NODE_TYPES
    nodes: list[dict[str, Any]] = []
    earlier: list[tuple[str, str]] = []
    for node_id in ids:
        node_type = draw(st.sampled_from(weighted))
        node: dict[str, Any] = {
            "id": node_id,
            "type": node_type,
            "params": draw(_params(node_type, earlier, list(inputs))),
        }
        if one_in(draw, 10):
            node["purpose"] = draw(st.text(max_size=20))
        nodes.append(node)
        earlier.append((node_id, node_type))
    workflow: dict[str, Any] = {"ir_version": "0.1.0", "nodes": nodes}
    if inputs or one_in(draw, 10):
        workflow["inputs"] = inputs
    wiring = draw(st.sampled_from(("chain", "explicit", "explicit", "explicit", "empty")))
    if wiring != "chain":
        edges: list[dict[str, Any]] = []
        if wiring == "explicit":
            for i, node in enumerate(nodes):
                # Forward edges from any node; backward ones (loops) only from shell nodes,
                # which the loop guard can bound.
                targets = list(range(len(nodes))) if node["type"] == "shell" else []
                targets = targets or list(range(i + 1, len(nodes)))
                if not targets:
                    continue
                actions = draw(
                    st.lists(
                        st.sampled_from(("default", "default", "error", "retry", "")),
                        max_size=2,
                        unique=True,
                    )
                )
                for action in actions:
                    edge: dict[str, Any] = {
                        "from": node["id"],
                        "to": ids[draw(st.sampled_from(targets))],
                    }
                    if action != "default" or draw(st.booleans()):
                        edge["action"] = action
                    edges.append(edge)
            if edges and one_in(draw, 20):
                edges.append(dict(edges[0]))  # two edges for one (from, action)
            if one_in(draw, 20):
                edges.append({"from": ids[0], "to": "nowhere"})
        workflow["edges"] = edges
    outputs: dict[str, Any] = {}
    for name in draw(
        st.lists(st.sampled_from(("result", "out", "count")), max_size=2, unique=True)
    ):
        source = draw(_ref(earlier, list(inputs))).removeprefix("pre ").removesuffix(" post")
        form = draw(st.sampled_from(("template", "dollar", "bare", "none")))
        decl = (
            {
                "source": {"template": source, "dollar": "$" + source[2:-1], "bare": source[2:-1]}[
                    form
                ]
            }
            if form != "none"
            else {}
        )
        if draw(st.booleans()):
            decl["type"] = draw(st.sampled_from(("string", "number", "object")))
        outputs[name] = decl
    if outputs:
        workflow["outputs"] = outputs
    if one_in(draw, 10):
        workflow["start_node"] = draw(st.sampled_from((*ids, "nope")))
    if one_in(draw, 10):
        workflow["enable_namespacing"] = False
    return workflow


@st.composite
def structural_cases(draw: st.DrawFn) -> Case:
    doc = draw(structural_workflows())
    assume(bounded(doc))  # only duplicate ids (an invalid workflow) can break the rule
    return Case(
        "structural",
        doc,
        ascii_only=draw(st.booleans()),
        pretty=draw(st.booleans()),
        **draw(run_settings(doc.get("inputs"))),
    )


# --- source 3: mutations of examples/ --------------------------------------------------------

KEY_NAMES = (
    "start_node",
    "enable_namespacing",
    "mappings",
    "outputs",
    "inputs",
    "edges",
    "purpose",
    "params",
    "ignore_errors",
    "timeout",
    "stdin",
    "env",
    "cwd",
    "append",
    "encoding",
    "ir",
    "name",
    "",
    "\ud800",
)
MUTATIONS = (
    "drop",
    "replace",
    "replace",
    "special",
    "special",
    "retype_value",
    "rename_id",
    "edge",
    "add_edge",
    "dup_node",
    "many_nodes",
    "add_key",
    "retype_node",
    "wrap",
    "string",
)


def size_of(doc: Any) -> int:
    """About how many characters `doc` takes as JSON (iterative: any depth)."""
    total, stack = 0, [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            total += 2 + sum(len(str(k)) + 4 for k in value)
            stack.extend(value.values())
        elif isinstance(value, list):
            total += 2 + len(value)
            stack.extend(value)
        elif isinstance(value, str):
            total += len(value) + 2
        elif isinstance(value, Raw):
            total += len(value.text)
        else:
            total += 8
    return total


MAX_DOC_CHARS = 2_000_000  # keeps a shard's drawn workflows well within memory


def _locations(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in `doc`, in a fixed order."""
    found: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        container = stack.pop()
        if isinstance(container, dict):
            items: list[tuple[Any, Any]] = list(container.items())
        elif isinstance(container, list):
            items = list(enumerate(container))
        else:
            continue
        for key, value in items:
            found.append((container, key))
            stack.append(value)
    return found


def _pick(draw: st.DrawFn, items: list[Any]) -> Any:
    return items[draw(st.integers(0, len(items) - 1))] if items else None


def _node_ids(doc: Any) -> list[Any]:
    return [n.get("id") for n in _nodes(effective_ir(doc))]


@st.composite
def mutate(draw: st.DrawFn, doc: Any) -> Any:
    """`doc` with one mutation applied (in place where possible); returns the new root."""
    kind = draw(st.sampled_from(MUTATIONS))
    ir = effective_ir(doc)
    nodes = _nodes(ir)
    ids = [i for i in _node_ids(doc) if isinstance(i, str)]
    if kind in ("drop", "replace", "special", "retype_value", "string"):
        spot = _pick(draw, _locations(doc))
        if spot is None:
            return draw(json_values)
        container, key = spot
        if kind == "drop":
            del container[key]
        elif kind == "replace":
            container[key] = draw(json_values)
        elif kind == "special":
            container[key] = draw(st.sampled_from(SPECIAL_VALUES))
        elif kind == "retype_value":
            old = container[key]
            if isinstance(old, list):
                container[key] = {str(i): v for i, v in enumerate(old)}
            elif isinstance(old, dict | Raw) or draw(st.booleans()):
                container[key] = [old]
            else:
                container[key] = json.dumps(old)
        else:
            old = container[key]
            text = (
                old if isinstance(old, str) else json.dumps(old) if not isinstance(old, Raw) else ""
            )
            container[key] = draw(
                st.sampled_from(
                    (
                        text * (1000 if len(text) <= 1000 else 2),
                        text + "\ud800",
                        text[: len(text) // 2],
                        "\x00" + text,
                        text + "\u0301\u202e",
                        text.upper(),
                        text + "${" + text,
                    )
                )
            )
    elif kind == "rename_id" and nodes:
        node = _pick(draw, nodes)
        node["id"] = draw(
            st.sampled_from((*ids, "", "stdin", "a.b", "名前", "\ud800", "name", "${x}", 5)) | _text
        )
    elif kind == "edge" and isinstance(ir, dict) and isinstance(ir.get("edges"), list):
        edge = _pick(draw, [e for e in ir["edges"] if isinstance(e, dict)])
        if edge is not None:
            part = draw(st.sampled_from(("from", "to", "action", "swap", "drop_from")))
            if part == "swap":
                edge["from"], edge["to"] = edge.get("to"), edge.get("from")
            elif part == "drop_from":
                edge.pop("from", None)
            elif part == "action":
                edge["action"] = draw(
                    st.sampled_from(("error", "", "default ", "ERROR", "\ud800", 5, None))
                )
            else:
                edge[part] = draw(st.sampled_from((*ids, "nowhere", "")) | _text)
    elif kind == "add_edge" and isinstance(ir, dict) and ids:
        edges = ir.setdefault("edges", []) if isinstance(ir.get("edges", []), list) else []
        edge = {"from": _pick(draw, ids), "to": _pick(draw, ids)}
        action = draw(st.sampled_from((None, "default", "error", "other")))
        if action:
            edge["action"] = action
        edges.append(edge)
    elif kind == "dup_node" and nodes and isinstance(ir.get("nodes"), list):
        ir["nodes"].append(copy.deepcopy(_pick(draw, nodes)))
    elif kind == "many_nodes" and nodes and isinstance(ir.get("nodes"), list):
        node = _pick(draw, nodes)
        how = draw(st.sampled_from(("fresh", "same", "broken")))
        times = draw(st.sampled_from((50, 300) if how == "fresh" else (300, 5_000)))
        times = times if size_of(node) < 2_000 else 3
        for i in range(times):
            clone = copy.deepcopy(node)
            if how != "same":
                clone["id"] = f"{node.get('id')}_{i}"
            if how == "broken":
                clone["params"] = {"command": f"echo ${{missing_{i}}}", "timeout": "x"}
            ir["nodes"].append(clone)
    elif kind == "add_key":
        containers = [doc, *(c[k] for c, k in _locations(doc) if isinstance(c[k], dict))]
        target = _pick(draw, [c for c in containers if isinstance(c, dict)])
        if target is not None:
            target[draw(st.sampled_from(KEY_NAMES) | _text)] = draw(json_values)
    elif kind == "retype_node" and nodes:
        _pick(draw, nodes)["type"] = draw(st.sampled_from((*NODE_TYPES, "nope", "", "SHELL", 5)))
    elif kind == "wrap":
        shape = draw(st.sampled_from(("saved", "saved_extra", "list", "ir_junk", "scalar")))
        if shape == "saved":
            return {"ir": doc}
        if shape == "saved_extra":
            return {"name": "x", "ir": doc, "created_at": 5, "rich_metadata": []}
        if shape == "list":
            return [doc]
        if shape == "ir_junk" and isinstance(doc, dict):
            doc["ir"] = draw(json_values)
            return doc
        return draw(_scalars)
    return doc


_SAFE_EXTRAS: tuple[Any, ...] = (None, 0, [], {}, "\ud800", _deep("list", 200_000))


@st.composite
def mutated_examples(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    doc: Any = copy.deepcopy(EXAMPLES[name])
    for _ in range(draw(st.integers(0, 4))):
        doc = draw(mutate(doc))
    if one_in(draw, 6):  # a duplicate key, written before the real one
        dicts = [doc, *(c[k] for c, k in _locations(doc))]
        target = _pick(draw, [d for d in dicts if isinstance(d, dict) and d])
        if target is not None:
            key = _pick(draw, list(target))
            extra = draw(st.sampled_from((*_SAFE_EXTRAS, copy.deepcopy(target[key]))))
            dup = Dup(target, [(key, extra)])
            if target is doc:
                doc = dup
            else:
                for container, k in _locations(doc):
                    if container[k] is target:
                        container[k] = dup
                        break
    assume(bounded(doc) and size_of(doc) < MAX_DOC_CHARS)
    return name, doc


@st.composite
def mutation_cases(draw: st.DrawFn) -> Case:
    name, doc = draw(mutated_examples())
    byte_ops: list[tuple[str, float, bytes]] = []
    if one_in(draw, 4):
        for _ in range(draw(st.integers(1, 2))):
            byte_ops.append(
                (
                    draw(
                        st.sampled_from(
                            ("truncate", "insert", "insert", "bom", "crlf", "append", "empty")
                        )
                    ),
                    draw(st.floats(0, 1)),
                    draw(
                        st.sampled_from(
                            (
                                b"\xff",
                                b"\xc3",
                                b"\xed\xa0\x80",
                                b"\x80\x80",
                                b"\xf4\x90\x80\x80",
                                b"\xc0\xaf",
                                b"\x00",
                                b"{}",
                                b"\n}",
                            )
                        )
                    ),
                )
            )
    return Case(
        "mutation",
        doc,
        ascii_only=draw(st.booleans()),
        pretty=draw(st.booleans()),
        byte_ops=byte_ops,
        **draw(run_settings(EXAMPLES[name].get("inputs"))),
    )


STRATEGIES = {"schema": schema_cases, "structural": structural_cases, "mutation": mutation_cases}


# --- the tests and their figures --------------------------------------------------------------


def _summary_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("PFLOW_FUZZ_SUMMARY")
    if configured:
        return Path(configured)
    base = tmp_path_factory.getbasetemp()
    # Under xdist every worker has its own base; their parent is this session's.
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "fuzz-summary"


def draw_cases(source: str, shard: int, count: int) -> list[Case]:
    cases: list[Case] = []

    @seed(SOURCE_SEEDS[source] + shard)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(STRATEGIES[source]())
    def collect(case: Case) -> None:
        cases.append(case)

    collect()
    return cases


def summarise_shard(source: str, shard: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "source": source,
        "shard": shard,
        "runs": len(results),
        "json_runs": sum(r["json"] for r in results),
        "exit_codes": dict(Counter(str(r["rc"]) for r in results)),
        "json_error_types": dict(Counter(r["error_type"] for r in results if r["error_type"])),
        "seconds_total": round(sum(r["secs"] for r in results), 1),
        "slowest": sorted(
            ({"secs": r["secs"], "case": f"{source}/{shard}/{r['index']}"} for r in results),
            key=lambda s: -s["secs"],
        )[:3],
        "failures": [r for r in results if r["problems"]],
    }


def aggregate(summary_dir: Path) -> dict[str, Any]:
    shards = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(summary_dir.glob("shard-*.json"))
    ]
    by_source: dict[str, int] = Counter()
    codes: Counter[str] = Counter()
    error_types: Counter[str] = Counter()
    codes_by_source: dict[str, Counter[str]] = {}
    failures: list[dict[str, Any]] = []
    for s in shards:
        by_source[s["source"]] += s["runs"]
        codes.update(s["exit_codes"])
        error_types.update(s["json_error_types"])
        codes_by_source.setdefault(s["source"], Counter()).update(s["exit_codes"])
        failures += [
            {**f, "case": f"{s['source']}/{s['shard']}/{f['index']}"} for f in s["failures"]
        ]
    slowest = sorted((x for s in shards for x in s["slowest"]), key=lambda x: -x["secs"])[:5]
    signatures = Counter(f["signature"] for f in failures)
    return {
        "shards": len(shards),
        "runs": sum(by_source.values()),
        "json_runs": sum(s["json_runs"] for s in shards),
        "runs_by_source": dict(by_source),
        "exit_codes": dict(sorted(codes.items())),
        "exit_codes_by_source": {k: dict(sorted(v.items())) for k, v in codes_by_source.items()},
        "json_error_types": dict(error_types.most_common()),
        "seconds_total": round(sum(s["seconds_total"] for s in shards), 1),
        "wall_seconds_max_shard": max((s["wall_seconds"] for s in shards), default=0),
        "slowest": slowest,
        "failed_runs": len(failures),
        "distinct_failures": [
            {
                "signature": sig,
                "runs": n,
                "example": next(f for f in failures if f["signature"] == sig),
            }
            for sig, n in signatures.most_common()
        ],
    }


def format_summary(totals: dict[str, Any]) -> str:
    lines = [
        f"fuzz: {totals['runs']} runs in {totals['shards']} shards "
        f"({totals['json_runs']} in JSON mode), by source {totals['runs_by_source']}",
        f"exit codes {totals['exit_codes']}",
        *(f"  {src}: {codes}" for src, codes in totals["exit_codes_by_source"].items()),
        f"error types in JSON mode {totals['json_error_types']}",
        f"run time summed {totals['seconds_total']} s; slowest "
        + ", ".join(f"{s['secs']:.2f} s ({s['case']})" for s in totals["slowest"]),
        f"failed runs {totals['failed_runs']}, distinct failures "
        f"{len(totals['distinct_failures'])}",
    ]
    for failure in totals["distinct_failures"]:
        example = failure["example"]
        lines.append(f"  [{failure['runs']}x] {failure['signature']}")
        lines.append(f"      {example['dir']}")
    return "\n".join(lines)


@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("source", sorted(STRATEGIES))
def test_fuzz_pflow_run(
    source: str, shard: int, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    count = math.ceil(EXAMPLES_PER_SOURCE / SHARDS)
    cases = draw_cases(source, shard, count)
    summary_dir = _summary_dir(tmp_path_factory)
    keep = summary_dir / "failures"
    keep.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        results = list(
            pool.map(lambda ic: run_case(ic[1], ic[0], tmp_path, keep), enumerate(cases))
        )
    summary = summarise_shard(source, shard, results)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    path = summary_dir / f"shard-{source}-{shard}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    failures = summary["failures"]
    assert len(cases) >= count * 0.95, f"hypothesis drew only {len(cases)} of {count} workflows"
    assert not failures, (
        f"{len(failures)} of {len(results)} runs failed; cases kept in {keep}:\n"
        + "\n".join(
            f"- {f['signature']}\n  {f['command']}  (in {f['dir']})"
            for f in {f["signature"]: f for f in failures}.values()
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/reliability/test_fuzz.py SUMMARY_DIR")
    target = Path(sys.argv[1])
    if not any(target.glob("shard-*.json")):
        sys.exit(f"no fuzz figures in {target}")
    totals = aggregate(target)
    (target / "totals.json").write_text(json.dumps(totals, indent=2) + "\n", encoding="utf-8")
    print(format_summary(totals))
