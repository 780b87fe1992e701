"""Start-up time of the pflow command, compared with importing pflow's two base libraries.

Measures the median wall time of:

- the floor: `python -c "import click, jsonschema"` (what any click + jsonschema CLI pays),
- `pflow --version`,
- `pflow --help`,
- `pflow run hello.json`, a one-node shell workflow (`echo hello`),

each run as a subprocess with standard input from /dev/null, in a temporary directory with a
temporary PFLOW_HOME. The console script is the one next to the running interpreter, so run
this with the Python of the environment you want to measure. Prints figures only; it never
asserts and always exits 0.

Usage: python benchmarks/startup.py [--runs N] [--warmup N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_RATIO = 2.0
HELLO = {
    "ir_version": "0.1.0",
    "nodes": [{"id": "hello", "type": "shell", "params": {"command": "echo hello"}}],
}


def median_ms(argv: list[str], *, runs: int, warmup: int, cwd: Path, env: dict[str, str]) -> float:
    """Median wall time in milliseconds of `runs` runs of `argv`, after `warmup` unmeasured runs."""
    times: list[float] = []
    failures = 0
    for i in range(warmup + runs):
        started = time.perf_counter()
        completed = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if completed.returncode != 0:
            failures += 1
        if i >= warmup:
            times.append(elapsed * 1000.0)
    if failures:
        print(f"  note: {' '.join(argv)} exited non-zero {failures} time(s)", file=sys.stderr)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs per command")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs first")
    args = parser.parse_args()

    pflow = Path(sys.executable).parent / "pflow"
    if not pflow.is_file():
        print(f"no pflow console script next to {sys.executable}; install pflow first")
        return

    with tempfile.TemporaryDirectory(prefix="pflow-startup-") as tmp:
        workdir = Path(tmp)
        (workdir / "hello.json").write_text(json.dumps(HELLO) + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PFLOW_")}
        env["PFLOW_HOME"] = str(workdir / "home")
        commands = [
            (
                "floor: python -c 'import click, jsonschema'",
                [sys.executable, "-c", "import click, jsonschema"],
            ),
            ("pflow --version", [str(pflow), "--version"]),
            ("pflow --help", [str(pflow), "--help"]),
            ("pflow run hello.json (one shell node)", [str(pflow), "run", "hello.json"]),
        ]
        print(f"python {sys.version.split()[0]} at {sys.executable}")
        print(f"median of {args.runs} runs after {args.warmup} warm-up runs, stdin /dev/null")
        print()
        print(f"{'command':<44} {'median ms':>10} {'x floor':>8}")
        floor = None
        for label, argv in commands:
            ms = median_ms(argv, runs=args.runs, warmup=args.warmup, cwd=workdir, env=env)
            floor = floor or ms
            ratio = ms / floor
            line = f"{label:<44} {ms:>10.1f} {ratio:>8.2f}"
            if argv[-1] == "hello.json":
                verdict = "ok" if ratio <= GOAL_RATIO else "OVER"
                line += f"  goal: one-node run <= {GOAL_RATIO:.1f}x floor ({verdict})"
            print(line)


if __name__ == "__main__":
    main()
