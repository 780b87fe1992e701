"""Routing: `pflow WORKFLOW` means `pflow run WORKFLOW`; sub-commands; options anywhere; help."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from pflow import __version__
from pflow.cli.root import cli


@pytest.fixture
def hello(flows):
    return flows.shell("echo Hello ${name}", name="hello.json", inputs={"name": {"type": "string"}})


def test_bare_form_equals_run(hello, invoke):
    with_run = invoke(["run", "hello.json", "name=Ada"])
    bare = invoke(["hello.json", "name=Ada"])
    assert with_run.code == bare.code == 0
    assert with_run.stdout == bare.stdout == b"Hello Ada\n"
    assert bare.stderr == b""


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "run.stdout", "hello.json", "name=Ada"],
        ["hello.json", "-o", "run.stdout", "name=Ada"],
        ["hello.json", "name=Ada", "-o", "run.stdout"],
        ["hello.json", "name=Ada", "--output-key=run.stdout"],
        ["-p", "-o", "run.stdout", "hello.json", "name=Ada", "-p"],
        ["run", "hello.json", "name=Ada", "--output-key", "run.stdout", "--print"],
    ],
)
def test_options_before_or_after_the_workflow(hello, invoke, args):
    result = invoke(args)
    assert (result.code, result.stdout, result.stderr) == (0, b"Hello Ada\n", b"")


@pytest.mark.parametrize(
    "args",
    [
        ["--output-format", "json", "hello.json", "name=Ada"],
        ["hello.json", "--output-format", "json", "name=Ada"],
        ["hello.json", "name=Ada", "--output-format=json"],
    ],
)
def test_output_format_before_or_after_the_workflow(hello, invoke, args):
    result = invoke(args)
    assert result.code == 0
    assert result.json()["result"] == {"stdout": "Hello Ada\n"}


@pytest.mark.parametrize(
    "args", [["-v", "hello.json", "name=Ada"], ["hello.json", "name=Ada", "-v"]]
)
def test_verbose_before_or_after_the_workflow(hello, invoke, args):
    result = invoke(args)
    assert result.stdout == b"Hello Ada\n"
    assert "pflow: workflow has 1 node(s)" in result.err


@pytest.mark.parametrize("option", ["-o", "--output-key"])
def test_value_of_output_key_is_not_the_command_word(flows, invoke, option):
    flows.shell("true", name="x.json")
    # `workflow` is the value of -o, so the first positional word is x.json: it runs.
    result = invoke([option, "workflow", "x.json", "workflow=W"])
    assert (result.code, result.stdout, result.stderr) == (0, b"W\n", b"")


def test_value_of_output_format_is_not_the_command_word(flows, invoke):
    flows.shell("echo hi", name="x.json")
    result = invoke(["--output-format", "json", "x.json"])
    assert result.code == 0
    assert result.json()["result"] == {"stdout": "hi\n"}


def test_first_positional_sub_command_routes_to_its_group(invoke):
    # `registry` is the first positional word once the value `json` is skipped, so the
    # registry group is chosen; --output-format is an option of `run` only.
    result = invoke(["--output-format", "json", "registry", "list"])
    assert result.code == 2
    assert result.stdout == b""
    assert result.err.endswith("Error: No such option '--output-format'.\n")
    assert "not found" not in result.err


def test_workflow_word_routes_to_the_workflow_group(invoke):
    result = invoke(["workflow", "list", "--json"])
    assert (result.code, result.stdout, result.stderr) == (0, b"[]\n", b"")


def test_registry_word_routes_to_the_registry_group(invoke):
    result = invoke(["registry", "list", "--json"])
    assert result.code == 0
    assert "shell" in [node["name"] for node in result.json()["nodes"]]


@pytest.mark.parametrize("name", ["registry", "workflow", "run"])
def test_saved_workflow_named_like_a_command_runs_with_run(flows, invoke, name):
    flows.shell(f"echo I am {name}")
    assert invoke(["workflow", "save", "flow.json", name]).code == 0
    result = invoke(["run", name])
    assert (result.code, result.stdout) == (0, f"I am {name}\n".encode())


def test_double_dash_forces_the_run_form(flows, invoke):
    flows.shell("echo saved registry")
    assert invoke(["workflow", "save", "flow.json", "registry"]).code == 0
    result = invoke(["--", "registry"])
    assert (result.code, result.stdout) == (0, b"saved registry\n")


def test_saved_name_runs_in_bare_form(hello, invoke):
    assert invoke(["workflow", "save", "hello.json", "greet"]).code == 0
    result = invoke(["greet", "name=Bo"])
    assert (result.code, result.stdout, result.stderr) == (0, b"Hello Bo\n", b"")


def test_file_beats_saved_workflow_of_the_same_name(flows, invoke):
    flows.shell("echo saved", name="saved.json")
    assert invoke(["workflow", "save", "saved.json", "hello"]).code == 0
    flows.shell("echo file", name="hello.json")
    assert invoke(["hello.json"]).stdout == b"file\n"
    assert invoke(["hello"]).stdout == b"saved\n"


def test_json_suffix_falls_back_to_saved_name_when_no_file(flows, invoke, sandbox):
    flows.shell("echo saved", name="saved.json")
    assert invoke(["workflow", "save", "saved.json", "hello"]).code == 0
    assert not (sandbox.workdir / "hello.json").exists()
    result = invoke(["hello.json", "--output-format", "json"])
    assert result.code == 0
    assert result.json()["workflow"] == {"action": "reused", "name": "hello"}


def test_bare_word_is_never_opened_as_a_file(flows, invoke):
    flows.shell("echo file", name="myflow")
    result = invoke(["myflow"])
    assert result.code == 4
    assert result.stdout == b""
    assert result.err == (
        "Error: Workflow 'myflow' not found\n"
        "Hint: To run the file in this directory, write ./myflow\n"
    )
    assert invoke(["./myflow"]).stdout == b"file\n"


def test_not_found_suggests_similar_saved_names(flows, invoke):
    flows.shell("echo x")
    assert invoke(["workflow", "save", "flow.json", "greet-user"]).code == 0
    result = invoke(["greet"])
    assert result.code == 4
    assert result.err == "Error: Workflow 'greet' not found\nHint: Did you mean 'greet-user'?\n"


def test_help_after_the_workflow_shows_run_help_and_does_not_run(flows, invoke, sandbox):
    flows.shell("touch ran")
    result = invoke(["flow.json", "--help"])
    assert result.code == 0
    assert result.out.startswith("Usage: pflow run [OPTIONS] WORKFLOW [KEY=VALUE]...")
    assert not (sandbox.workdir / "ran").exists()


def test_version(run_pflow):
    result = run_pflow(["--version"])
    assert (result.code, result.stdout, result.stderr) == (
        0,
        f"pflow {__version__}\n".encode(),
        b"",
    )


def test_version_wins_over_other_words(run_pflow):
    result = run_pflow(["--version", "whatever.json"])
    assert (result.code, result.stdout) == (0, f"pflow {__version__}\n".encode())


def test_no_arguments_prints_help_and_is_a_usage_error(invoke):
    result = invoke([])
    assert result.code == 2
    assert result.stdout == b""
    assert result.err.startswith("Usage: pflow [OPTIONS] COMMAND [ARGS]...")


def test_run_without_workflow_prints_run_help(invoke):
    result = invoke(["run"])
    assert result.code == 2
    assert "Usage: pflow run [OPTIONS] WORKFLOW [KEY=VALUE]..." in result.out + result.err


def test_unknown_option_is_a_usage_error(hello, invoke):
    result = invoke(["hello.json", "--bogus"])
    assert result.code == 2
    assert result.stdout == b""
    assert "Error: No such option '--bogus'." in result.err


def test_bad_output_format_is_a_usage_error(hello, invoke):
    result = invoke(["hello.json", "--output-format", "xml"])
    assert result.code == 2
    assert result.stdout == b""
    assert "'xml' is not one of 'text', 'json'" in result.err


HELP_COMMANDS = [
    [],
    ["run"],
    ["workflow"],
    ["workflow", "list"],
    ["workflow", "describe"],
    ["workflow", "save"],
    ["workflow", "delete"],
    ["registry"],
    ["registry", "list"],
    ["registry", "describe"],
]


@pytest.mark.parametrize("words", HELP_COMMANDS, ids=lambda w: " ".join(w) or "pflow")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help_with_an_example(words, flag):
    result = CliRunner().invoke(cli, [*words, flag], prog_name="pflow")
    assert result.exit_code == 0, result.output
    usage = " ".join(["pflow", *words])
    assert result.stdout.startswith(f"Usage: {usage} ")
    assert re.search(r"^\s*(Examples?|Quick start):", result.stdout, re.MULTILINE), result.stdout
    assert re.search(rf"^\s*(Example: )?pflow {re.escape(' '.join(words))}", result.stdout, re.M)


def test_root_help_lists_exit_codes_and_commands(run_pflow):
    result = run_pflow(["--help"])
    assert result.code == 0
    assert result.stderr == b""
    for line in ("  0    success", "  141  output pipe closed early"):
        assert line in result.out
    for command in ("run", "workflow", "registry"):
        assert re.search(rf"^  {command}\s+\S", result.out, re.M)
