"""Shell node cost against a bare process spawn of the same command, measured in one run.

(a) bare: `subprocess.Popen(["/bin/sh", "-c", "echo N"], stdout=PIPE, stderr=PIPE)` and
    `communicate()` in a loop, in this warm interpreter: the floor, per spawn.
(b) chain: a linear chain of `--nodes` shell nodes (`echo N`), compiled and run in-process
    through pflow's runtime: the run time per node.
(c) pflow run: the same chain as a workflow file through the `pflow` command, one process per
    run, for information (it includes start-up, validation and the run's bookkeeping).

(a) and (b) alternate within each repetition, so a burst of load on the machine hits both
alike; the figures are medians over the repetitions. Prints figures only; it never asserts.

Usage: python benchmarks/shell.py [--nodes 400] [--repeat 5] [--no-cli]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pflow.registry import Registry
from pflow.runtime.compiler import compile_ir_to_flow

GOAL_RATIO = 1.3
PFLOW = Path(sys.executable).with_name("pflow")


def chain_ir(n: int) -> dict[str, Any]:
    """A linear chain of `n` shell nodes; node i runs `echo i`."""
    nodes = [{"id": f"n{i}", "type": "shell", "params": {"command": f"echo {i}"}} for i in range(n)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n - 1)]
    return {"ir_version": "0.1.0", "nodes": nodes, "edges": edges}


def bare_spawns(n: int) -> tuple[float, list[float]]:
    """Seconds for `n` bare spawns of `/bin/sh -c "echo i"`, and each spawn's seconds."""
    each: list[float] = []
    gc.collect()
    started = time.perf_counter()
    for i in range(n):
        one = time.perf_counter()
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"echo {i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, _ = proc.communicate()
        each.append(time.perf_counter() - one)
        if out != f"{i}\n".encode():
            print(f"  bare spawn {i}: unexpected output {out!r}", file=sys.stderr)
    return time.perf_counter() - started, each


def chain_run(ir: dict[str, Any], n: int) -> float:
    """Run seconds of one compiled chain of `n` shell nodes (compilation not counted)."""
    flow = compile_ir_to_flow(ir, registry=Registry())
    gc.collect()
    shared: dict[str, Any] = {}
    started = time.perf_counter()
    action = flow.run(shared)
    finished = time.perf_counter()
    last = shared.get(f"n{n - 1}", {})
    if action != "default" or last.get("stdout") != f"{n - 1}\n" or len(flow.executed) != n:
        print(f"  chain of {n}: unexpected result {action!r} {last!r}", file=sys.stderr)
    return finished - started


def _pflow_command() -> list[str]:
    return [str(PFLOW)] if PFLOW.is_file() else [sys.executable, "-m", "pflow"]


def cli_runs(ir: dict[str, Any], repeat: int) -> tuple[float, float]:
    """Median wall seconds of `pflow run` for a one-node workflow and for the whole chain."""
    with tempfile.TemporaryDirectory(prefix="pflow-bench-shell-") as tmp:
        root = Path(tmp)
        chain = root / "chain.json"
        chain.write_text(json.dumps(ir), encoding="utf-8")
        one = root / "one.json"
        one.write_text(json.dumps(chain_ir(1)), encoding="utf-8")
        env = dict(os.environ, PFLOW_HOME=str(root / "home"), HOME=str(root))
        times: dict[Path, list[float]] = {one: [], chain: []}
        for _ in range(repeat):
            for path in times:
                started = time.perf_counter()
                done = subprocess.run(
                    [*_pflow_command(), "run", path.name],
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    check=False,
                )
                times[path].append(time.perf_counter() - started)
                if done.returncode != 0:
                    print(f"  pflow run {path.name}: exit {done.returncode}", file=sys.stderr)
                    print(done.stderr.decode(errors="replace")[-400:], file=sys.stderr)
        return statistics.median(times[one]), statistics.median(times[chain])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=400, help="nodes in the chain (default 400)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (median; default 5)")
    parser.add_argument("--no-cli", action="store_true", help="skip the `pflow run` figures")
    args = parser.parse_args()
    n = max(2, args.nodes)
    repeat = max(1, args.repeat)

    ir = chain_ir(n)
    bare_spawns(20)  # warm the interpreter, the page cache and pflow's imports
    chain_run(chain_ir(20), 20)

    bare: list[float] = []
    singles: list[float] = []
    chain: list[float] = []
    for _ in range(repeat):
        total, each = bare_spawns(n)
        bare.append(total / n)
        singles.extend(each)
        chain.append(chain_run(ir, n) / n)
    bare_us = statistics.median(bare) * 1e6
    chain_us = statistics.median(chain) * 1e6
    ratio = chain_us / bare_us

    python = sys.version.split()[0]
    print(f"python {python}, {os.cpu_count()} cores, {n} nodes, {repeat} repetitions (median)")
    print(f"goal: per-node cost of a shell-node chain <= {GOAL_RATIO}x a bare spawn")
    print()
    print(f"(a) bare spawn          {bare_us:8.0f} us per spawn  (single spawns: median ", end="")
    print(f"{statistics.median(singles) * 1e6:.0f} us)")
    print(f"(b) shell-node chain    {chain_us:8.0f} us per node   ", end="")
    print("(" + ", ".join(f"{x * 1e6:.0f}" for x in chain) + ")")
    print(f"    overhead per node   {chain_us - bare_us:8.0f} us")
    verdict = "ok" if ratio <= GOAL_RATIO else "OVER"
    print(f"    ratio (b)/(a)       {ratio:8.2f}     (goal <= {GOAL_RATIO}) {verdict}")
    if not args.no_cli:
        one_s, chain_s = cli_runs(ir, max(1, min(repeat, 3)))
        per_node = (chain_s - one_s) / (n - 1) * 1e6
        print(
            f"(c) pflow run           {chain_s * 1e3:8.0f} ms for {n} nodes, "
            f"{one_s * 1e3:.0f} ms for one; {per_node:.0f} us per extra node (information)"
        )


if __name__ == "__main__":
    main()
