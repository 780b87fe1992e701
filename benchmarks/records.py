"""The cost of run records: the same runs with records on and off, measured in one process.

(a) shell chain: a linear chain of `--nodes` shell nodes (`echo N`, as benchmarks/shell.py
    builds it) written to a workflow file and run through `RunPipeline().run(RunRequest(path))`
    (what `pflow run` does after start-up) with records on, and with `record=False`. What
    recording costs a real workflow, per node and as a slowdown: the verdicts are on the
    paired figures (the median over repetitions of each repetition's own on/off pair, with a
    bootstrap interval); the plain medians and this process's CPU time are shown beside them.
(b) echo chain: a linear chain of `--echo-nodes` in-process `echo` test nodes (as
    benchmarks/runtime.py builds it, PFLOW_INCLUDE_TEST_NODES=1), each templating the previous
    node's outputs, through the same pipeline: no process is spawned, so the difference is the
    recording itself (fingerprints, journal lines, the final record.json), for information.

PFLOW_HOME is a temporary folder. Within each repetition the two variants alternate, and
which one goes first alternates too, so a burst of load on the machine hits both alike; the
figures are medians over the repetitions, followed by the same figures from the fastest
repetition of each variant, for information. Prints figures only; it never asserts.

Usage: python benchmarks/records.py [--nodes 400] [--echo-nodes 1000] [--repeat 61]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ["PFLOW_INCLUDE_TEST_NODES"] = "1"

from pflow.core.run_pipeline import RunPipeline, RunRequest
from runtime import chain_ir as echo_chain_ir  # benchmarks/runtime.py: the same echo chain

GOAL_MS_PER_NODE = 0.2
GOAL_SLOWDOWN_PCT = 5.0
BOOTSTRAP = 2000


def shell_chain_ir(n: int) -> dict[str, Any]:
    """A linear chain of `n` shell nodes; node i runs `echo i`."""
    nodes = [{"id": f"n{i}", "type": "shell", "params": {"command": f"echo {i}"}} for i in range(n)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(n - 1)]
    return {"ir_version": "0.1.0", "nodes": nodes, "edges": edges}


def run_once(path: Path, n: int, *, record: bool) -> float:
    """Wall seconds of one pipeline run of the chain in `path` (`n` nodes); the CPU seconds
    of this process (not of the commands it spawns) go to CPU_SECONDS[record]."""
    pipeline = RunPipeline()
    gc.collect()
    cpu = time.process_time()
    started = time.perf_counter()
    outcome = pipeline.run(RunRequest(str(path), {}, use_stdin=False, record=record))
    took = time.perf_counter() - started
    CPU_SECONDS[record].append(time.process_time() - cpu)
    last_ran = f"n{n - 1}" in outcome.shared_after
    if not outcome.success or not last_ran or (outcome.run_id is not None) != record:
        print(
            f"  {path.name} (record={record}): unexpected outcome: success={outcome.success},"
            f" last node ran: {last_ran}, run id {outcome.run_id}, error {outcome.error!r},"
            f" record problem {outcome.record_problem!r}",
            file=sys.stderr,
        )
    return took


CPU_SECONDS: dict[bool, list[float]] = {True: [], False: []}


def measure(path: Path, n: int, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds of each repetition with records on and off, alternating."""
    for runs in CPU_SECONDS.values():
        runs.clear()
    on: list[float] = []
    off: list[float] = []
    for i in range(repeat):
        order = (True, False) if i % 2 == 0 else (False, True)
        for record in order:
            (on if record else off).append(run_once(path, n, record=record))
    return on, off


def _ms(values: list[float]) -> str:
    return ", ".join(f"{v * 1e3:.0f}" for v in values)


def _best(on: list[float], off: list[float], n: int) -> str:
    """The same figures from the fastest repetitions (load on the machine only adds time)."""
    best_on, best_off = min(on), min(off)
    return (
        f"best of each: {(best_on - best_off) / n * 1e3:.3f} ms per node,"
        f" {(best_on / best_off - 1) * 100:.1f} % (information)"
    )


def _paired(on: list[float], off: list[float], n: int) -> tuple[float, float]:
    """Recording ms per node and slowdown % from each repetition's own pair of runs (run
    one after the other), the median of the pairs: slow drifts of the machine cancel out."""
    per_node = statistics.median((a - b) / n * 1e3 for a, b in zip(on, off, strict=True))
    ratio = statistics.median(a / b for a, b in zip(on, off, strict=True))
    return per_node, (ratio - 1) * 100


def _interval(on: list[float], off: list[float]) -> tuple[float, float]:
    """A 90 % bootstrap interval of the paired median slowdown (%): how far the figure
    could move on another run of this benchmark on an equally busy machine."""
    pairs = [(a / b - 1) * 100 for a, b in zip(on, off, strict=True)]
    draw = random.Random(13)  # the same resamples every run: only the data varies
    medians = sorted(statistics.median(draw.choices(pairs, k=len(pairs))) for _ in range(BOOTSTRAP))
    return medians[BOOTSTRAP * 5 // 100], medians[BOOTSTRAP * 95 // 100]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=400, help="shell nodes (default 400)")
    parser.add_argument(
        "--echo-nodes", type=int, default=1000, help="in-process echo nodes (default 1000)"
    )
    parser.add_argument("--repeat", type=int, default=61, help="repetitions (median; default 61)")
    args = parser.parse_args()
    n = max(2, args.nodes)
    n_echo = max(2, args.echo_nodes)
    repeat = max(1, args.repeat)

    with tempfile.TemporaryDirectory(prefix="pflow-bench-records-") as tmp:
        root = Path(tmp)
        os.environ["PFLOW_HOME"] = str(root / "home")
        for name in ("PFLOW_NO_RUNS", "PFLOW_RUNS_KEEP"):  # records on, the default kept
            os.environ.pop(name, None)
        os.chdir(root)
        shell = root / "shell-chain.json"
        shell.write_text(json.dumps(shell_chain_ir(n)), encoding="utf-8")
        echo = root / "echo-chain.json"
        echo.write_text(json.dumps(echo_chain_ir(n_echo)), encoding="utf-8")
        warm = root / "warm.json"
        warm.write_text(json.dumps(shell_chain_ir(20)), encoding="utf-8")
        for record in (True, False):  # warm imports, caches and the page cache
            run_once(warm, 20, record=record)
            run_once(echo, n_echo, record=record)

        shell_on, shell_off = measure(shell, n, repeat)
        shell_cpu = {record: list(runs) for record, runs in CPU_SECONDS.items()}
        echo_on, echo_off = measure(echo, n_echo, repeat)

    python = sys.version.split()[0]
    print(f"python {python}, {os.cpu_count()} cores, {repeat} repetitions (median)")
    print(
        f"goal: recording costs <= {GOAL_MS_PER_NODE} ms per node and slows a {n}-node"
        f" shell chain by <= {GOAL_SLOWDOWN_PCT:.0f} %"
    )
    print()
    on_s, off_s = statistics.median(shell_on), statistics.median(shell_off)
    per_node_ms = (on_s - off_s) / n * 1e3
    slowdown = (on_s / off_s - 1) * 100
    print(f"(a) {n} shell nodes, RunPipeline.run")
    print(f"    records on          {on_s * 1e3:8.0f} ms  ({_ms(shell_on)})")
    print(f"    records off         {off_s * 1e3:8.0f} ms  ({_ms(shell_off)})")
    print(f"    recording per node  {per_node_ms:8.3f} ms  (difference of the medians)")
    print(f"    slowdown            {slowdown:8.1f} %   (ratio of the medians)")
    pair_ms, pair_pct = _paired(shell_on, shell_off, n)
    verdict = "ok" if pair_ms <= GOAL_MS_PER_NODE and pair_pct <= GOAL_SLOWDOWN_PCT else "OVER"
    goal = f"goal <= {GOAL_MS_PER_NODE} ms and {GOAL_SLOWDOWN_PCT:.0f} %"
    print(f"    paired              {pair_ms:8.3f} ms, {pair_pct:.1f} %  ({goal}) {verdict}")
    low, high = _interval(shell_on, shell_off)
    print("      (the median over repetitions of each one's own on/off pair; 90 % interval of")
    print(f"      the slowdown {low:.1f} to {high:.1f} %: more repetitions narrow it)")
    print(f"    {_best(shell_on, shell_off, n)}")
    added = statistics.median(a - b for a, b in zip(shell_cpu[True], shell_cpu[False], strict=True))
    print(
        f"    CPU pflow adds      {added / n * 1e6:8.1f} us per node,"
        f" {added / statistics.median(shell_off) * 100:.1f} % of the chain's wall time"
    )
    print("      (paired, this process only: recording is its work, so this is the slowdown")
    print("      without the machine's noise, the final fsync's wait aside; information)")
    print()
    on_s, off_s = statistics.median(echo_on), statistics.median(echo_off)
    print(f"(b) {n_echo} echo nodes in process, RunPipeline.run (information)")
    print(f"    records on          {on_s / n_echo * 1e6:8.1f} us per node  ({_ms(echo_on)} ms)")
    print(f"    records off         {off_s / n_echo * 1e6:8.1f} us per node  ({_ms(echo_off)} ms)")
    print(
        f"    recording per node  {(on_s - off_s) / n_echo * 1e3:8.3f} ms"
        f"  (slowdown {(on_s / off_s - 1) * 100:.0f} %)"
    )
    print(f"    {_best(echo_on, echo_off, n_echo)}")


if __name__ == "__main__":
    main()
