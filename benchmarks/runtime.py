"""Runtime overhead per node: compile and run chains of 100, 1000 and 5000 in-process nodes.

Each chain uses the `echo` test node; every node after the first templates the previous node's
output (`"message": "${n41.echo}"`, `"count": "${n41.metadata.count}"`), so the values stay short
and the figures measure per-node overhead (template resolution, namespacing, the walk), not
string growth. Prints figures only; it never asserts.

Usage: python benchmarks/runtime.py [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from typing import Any

os.environ["PFLOW_INCLUDE_TEST_NODES"] = "1"

from pflow.registry import Registry
from pflow.runtime.compiler import compile_ir_to_flow

SIZES = (100, 1000, 5000)
GOAL_US_PER_NODE = 200.0
GOAL_RATIO = 5.5
# Compile (validation included) per node, for the chains of at least this many nodes.
GOAL_COMPILE_US_PER_NODE = 60.0
GOAL_COMPILE_FROM = 1000


def chain_ir(n: int) -> dict[str, Any]:
    """A linear chain of `n` echo nodes, each templating the previous node's outputs."""
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "echo", "params": {"message": "hi"}}]
    for i in range(1, n):
        prev = f"n{i - 1}"
        nodes.append(
            {
                "id": f"n{i}",
                "type": "echo",
                "params": {"message": f"${{{prev}.echo}}", "count": f"${{{prev}.metadata.count}}"},
            }
        )
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n - 1)]
    return {"ir_version": "0.1.0", "nodes": nodes, "edges": edges}


def measure_once(ir: dict[str, Any], n: int) -> tuple[float, float]:
    """Compile and run seconds for one chain of `n` nodes.

    Garbage left by earlier measurements is collected first, so a full collection it would
    trigger is not charged to this one; the garbage collector stays on while timing.
    """
    gc.collect()
    started = time.perf_counter()
    flow = compile_ir_to_flow(ir, registry=Registry())
    compiled = time.perf_counter()
    gc.collect()
    shared: dict[str, Any] = {}
    resumed = time.perf_counter()
    action = flow.run(shared)
    finished = time.perf_counter()
    last = shared[f"n{n - 1}"]
    if action != "default" or last["echo"] != "hi" or len(flow.executed) != n:
        print(f"  chain of {n}: unexpected result {action!r} {last!r}", file=sys.stderr)
    return compiled - started, finished - resumed


def measure(repeat: int) -> dict[int, tuple[float, float]]:
    """Median compile and run seconds per chain size.

    Sizes are interleaved within each repetition, so a burst of load on the machine hits
    every size alike instead of skewing the 5000/1000 ratio.
    """
    irs = {n: chain_ir(n) for n in SIZES}
    samples: dict[int, list[tuple[float, float]]] = {n: [] for n in SIZES}
    for _ in range(repeat):
        for n in SIZES:
            samples[n].append(measure_once(irs[n], n))
    return {
        n: (statistics.median(c for c, _ in s), statistics.median(r for _, r in s))
        for n, s in samples.items()
    }


def recursion_check(n: int, limit: int) -> str:
    """Compile and run a chain of `n` nodes with a recursion limit far below `n`."""
    ir = chain_ir(n)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        flow = compile_ir_to_flow(ir, registry=Registry())
        flow.run({})
    except RecursionError as exc:
        return f"FAILED: {exc}"
    finally:
        sys.setrecursionlimit(old)
    return f"ok ({len(flow.executed)} nodes ran)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="repetitions per size (median)")
    args = parser.parse_args()

    compile_ir_to_flow(chain_ir(2), registry=Registry()).run({})  # warm imports and caches
    print(f"python {sys.version.split()[0]}, repetitions per size: {args.repeat} (median)")
    print(
        f"goal: run time <= {GOAL_US_PER_NODE:.0f} us per node; 5000/1000 run ratio <= {GOAL_RATIO}"
    )
    print(
        f"goal: compile <= {GOAL_COMPILE_US_PER_NODE:.0f} us per node "
        f"for chains of {GOAL_COMPILE_FROM} nodes or more"
    )
    print()
    print(
        f"{'nodes':>6} {'compile ms':>11} {'run ms':>9} {'compile us/node':>16} "
        f"{'goal (compile)':>16} {'run us/node':>12} {'total us/node':>14}  goal (run us/node)"
    )
    medians = measure(args.repeat)
    runs: dict[int, float] = {}
    for n in SIZES:
        compile_s, run_s = medians[n]
        runs[n] = run_s
        per_node = run_s / n * 1e6
        verdict = "ok" if per_node <= GOAL_US_PER_NODE else "OVER"
        compile_per_node = compile_s / n * 1e6
        compile_goal = "-"
        if n >= GOAL_COMPILE_FROM:
            compile_ok = compile_per_node <= GOAL_COMPILE_US_PER_NODE
            compile_goal = f"<= {GOAL_COMPILE_US_PER_NODE:.0f} {'ok' if compile_ok else 'OVER'}"
        print(
            f"{n:>6} {compile_s * 1e3:>11.1f} {run_s * 1e3:>9.1f} {compile_per_node:>16.1f} "
            f"{compile_goal:>16} {per_node:>12.1f} {(compile_s + run_s) / n * 1e6:>14.1f}  "
            f"<= {GOAL_US_PER_NODE:.0f} {verdict}"
        )
    ratio = runs[5000] / runs[1000]
    verdict = "ok" if ratio <= GOAL_RATIO else "OVER"
    print()
    print(f"run time 5000/1000 ratio: {ratio:.2f}  (goal <= {GOAL_RATIO}; linear = 5.0) {verdict}")
    limit = 400
    print(f"5000-node chain with recursion limit {limit}: {recursion_check(5000, limit)}")


if __name__ == "__main__":
    main()
