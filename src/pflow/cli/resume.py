"""`pflow resume`: run a failed run's workflow again, reusing the steps that still match."""

from __future__ import annotations

import click

from pflow.cli.exit_codes import EXIT_CODE_HELP
from pflow.cli.run import finish_run, parse_param_words, run_pipeline, start_run
from pflow.cli.run_options import run_options
from pflow.core.run_pipeline import RunRequest

RESUME_HELP = f"""Continue a failed run: finished steps are reused, the rest runs.

The workflow is run again as it is now (the saved workflow, or the file), with the recorded
run's parameters; KEY=VALUE pairs override them. A node whose fingerprint (its type, its
resolved params and the fingerprints of the nodes whose outputs it reads) equals a completed
step of the recorded run is not executed: its recorded outputs and action are used, and the
progress line shows "↻ cached". Everything else runs: failed, skipped and not-run nodes, a
node whose params changed, and every node that reads from a node that ran again.

RUN_ID may be the start of a run id (see `pflow runs list`). Without it, the newest failed
run started in the current directory is resumed. A fingerprint cannot see what a command
reads from outside the workflow (files, the network, the clock): use --from NODE_ID to run
that node and every node after it again.

\b
Examples:
  pflow resume                          the last failed run started here
  pflow resume 20261207T0912 name=Ada   that run, with one parameter changed
  pflow resume --from fetch             run 'fetch' and everything after it again

{EXIT_CODE_HELP}
"""


@click.command(name="resume", help=RESUME_HELP)
@click.argument("words", nargs=-1, metavar="[RUN_ID] [KEY=VALUE]...")
@click.option("--from", "force_from", metavar="NODE_ID", help="Run this node and all after it.")
@run_options(
    "json prints one document with result, metrics and the reused nodes.",
    click.option(
        "--keep-going", is_flag=True, help="After a node fails, run what does not need it."
    ),
)
@click.pass_context
def resume_command(
    ctx: click.Context,
    words: tuple[str, ...],
    force_from: str | None,
    output_key: str | None,
    output_format: str,
    print_flag: bool,
    trace: bool,
    verbose: bool,
    keep_going: bool,
) -> int:
    """Entry point of `pflow resume`."""
    output_format = output_format.lower()
    run_id = words[0] if words and "=" not in words[0] else None
    params = parse_param_words(words[1:] if run_id is not None else words)
    request = RunRequest("", params, output_key=output_key, keep_going=keep_going)
    state = start_run(ctx, request, trace=trace, output_format=output_format, verbose=verbose)
    pipeline = run_pipeline(ctx, print_flag, output_format, verbose)
    state.outcome = outcome = pipeline.resume_run(run_id, request, force_from=force_from)
    if outcome.resumed_from is not None and verbose:
        click.echo(f"pflow: resuming run {outcome.resumed_from}", err=True)
    return finish_run(ctx, outcome, output_format)
