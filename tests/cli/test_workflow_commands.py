"""`pflow workflow list|describe|save|delete` and running saved workflows by name."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
WRAPPER_KEYS = ["name", "description", "ir", "created_at", "updated_at", "version"]


@pytest.fixture
def greet(flows):
    """A workflow file with one required input, one optional input and a declared output."""
    ir = flows.ir(
        flows.shell_node("greet", "echo ${greeting} ${name}"),
        inputs={
            "name": {"type": "string", "description": "Who to greet"},
            "greeting": {"type": "string", "required": False, "default": "Hello"},
        },
        outputs={"message": {"source": "${greet.stdout}", "description": "The greeting"}},
    )
    flows.write("greet.json", ir)
    return ir


def saved(sandbox, name):
    return sandbox.workflows_dir / f"{name}.json"


def test_save_list_describe_run_delete(greet, run_pflow, sandbox):
    save = run_pflow(["workflow", "save", "greet.json", "greet", "--description", "Greets"])
    path = saved(sandbox, "greet")
    assert (save.code, save.stdout) == (0, b"")
    assert save.err == f"Saved workflow 'greet' to {path}\n"

    listing = run_pflow(["workflow", "list"])
    assert (listing.code, listing.stdout, listing.stderr) == (0, b"greet  Greets\n", b"")

    describe = run_pflow(["workflow", "describe", "greet"])
    assert describe.code == 0
    assert describe.out == (
        "Workflow: greet\n"
        "Description: Greets\n"
        "\n"
        "Inputs:\n"
        "  name (string, required): Who to greet\n"
        "  greeting (string, optional)\n"
        '    default: "Hello"\n'
        "Outputs:\n"
        "  message: The greeting\n"
        "\n"
        "Run it:\n"
        "  pflow greet name=<value>\n"
    )

    ran = run_pflow(["greet", "name=Ada"])
    assert (ran.code, ran.stdout, ran.stderr) == (0, b"Hello Ada\n", b"")
    ran_json = run_pflow(["run", "greet", "name=Ada", "--output-format", "json"])
    assert ran_json.json()["workflow"] == {"action": "reused", "name": "greet"}
    assert ran_json.json()["result"] == {"message": "Hello Ada\n"}

    delete = run_pflow(["workflow", "delete", "greet", "--yes"])
    assert (delete.code, delete.stdout, delete.stderr) == (0, b"", b"Deleted workflow 'greet'\n")
    assert not path.exists()

    gone = run_pflow(["greet", "name=Ada"])
    assert gone.code == 4
    assert gone.err.startswith("Error: Workflow 'greet' not found\n")


def test_saved_file_format(greet, invoke, sandbox):
    assert invoke(["workflow", "save", "greet.json", "greet", "-d", "Greets é"]).code == 0
    text = saved(sandbox, "greet").read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    wrapper = json.loads(text)
    assert [k for k in wrapper if k != "rich_metadata"] == WRAPPER_KEYS
    assert isinstance(wrapper.get("rich_metadata", {}), dict)
    assert wrapper["name"] == "greet"
    assert wrapper["description"] == "Greets é"
    assert wrapper["ir"] == greet
    assert wrapper["version"] == "1.0.0"
    assert ISO_UTC.match(wrapper["created_at"])
    assert wrapper["updated_at"] == wrapper["created_at"]
    assert text == json.dumps(wrapper, indent=2, ensure_ascii=False) + "\n"


def test_save_without_description_stores_empty_text(greet, invoke, sandbox):
    assert invoke(["workflow", "save", "greet.json", "greet"]).code == 0
    assert json.loads(saved(sandbox, "greet").read_text())["description"] == ""


def test_save_refuses_an_existing_name(greet, invoke, sandbox):
    assert invoke(["workflow", "save", "greet.json", "greet", "-d", "first"]).code == 0
    before = saved(sandbox, "greet").read_bytes()
    result = invoke(["workflow", "save", "greet.json", "greet", "-d", "second"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err == (
        "Error: Workflow 'greet' already exists\n"
        f"  At: {saved(sandbox, 'greet')}\n"
        "Hint: use --force to replace it\n"
    )
    assert saved(sandbox, "greet").read_bytes() == before


def test_save_force_replaces_and_keeps_created_at(greet, invoke, sandbox):
    assert invoke(["workflow", "save", "greet.json", "greet", "-d", "first"]).code == 0
    first = json.loads(saved(sandbox, "greet").read_text())
    result = invoke(["workflow", "save", "greet.json", "greet", "-d", "second", "--force"])
    assert result.code == 0, result
    second = json.loads(saved(sandbox, "greet").read_text())
    assert second["description"] == "second"
    assert second["created_at"] == first["created_at"]
    updated = datetime.fromisoformat(second["updated_at"])
    assert updated >= datetime.fromisoformat(first["updated_at"])


def test_save_checks_the_workflow_first(flows, invoke, sandbox):
    flows.write("bad.json", {"ir_version": "0.1.0", "nodes": [{"id": "x", "type": "nope"}]})
    result = invoke(["workflow", "save", "bad.json", "bad"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.err.startswith("Error: Node 'x': Unknown node type 'nope'\n")
    assert not saved(sandbox, "bad").exists()


def test_save_accepts_templates_for_command_line_parameters(flows, invoke):
    flows.shell("echo ${who}")
    assert invoke(["workflow", "save", "flow.json", "free"]).code == 0
    assert invoke(["free", "who=anyone"]).stdout == b"anyone\n"


def test_save_of_a_missing_file_is_not_found(invoke, sandbox):
    result = invoke(["workflow", "save", "missing.json", "m"])
    assert result.code == 4
    assert result.stdout == b""
    assert result.err.startswith("Error: Workflow file 'missing.json' not found\n")
    assert not saved(sandbox, "m").exists()


def test_save_of_invalid_json_is_invalid(flows, invoke):
    flows.write("broken.json", "{")
    result = invoke(["workflow", "save", "broken.json", "b"])
    assert result.code == 3
    assert result.err.startswith("Error: Invalid JSON at line 1, column 2")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "bad name",
            "Workflow name can only contain letters, numbers, dots, hyphens and underscores",
        ),
        ("a/b", "Workflow name can only contain letters, numbers, dots, hyphens and underscores"),
        ("-dash", "Workflow name cannot start with '.' or '-'"),
        ("x" * 51, "Workflow name cannot exceed 50 characters"),
    ],
)
def test_save_rejects_bad_names(greet, invoke, sandbox, name, message):
    result = invoke(["workflow", "save", "greet.json", "--", name])
    assert result.code == 3
    assert result.err.startswith(f"Error: {message}\n")
    assert not sandbox.workflows_dir.exists() or not any(sandbox.workflows_dir.glob("*.json"))


def test_list_when_empty(invoke):
    result = invoke(["workflow", "list"])
    assert result.code == 0
    assert result.stdout == b"No saved workflows.\nSave one with: pflow workflow save FILE NAME\n"
    assert result.stderr == b""


def test_list_json_when_empty(invoke):
    result = invoke(["workflow", "list", "--json"])
    assert (result.code, result.stdout, result.stderr) == (0, b"[]\n", b"")


def test_list_is_sorted_and_aligned(greet, invoke):
    for name, description in [("zeta", "Last"), ("alpha-long-name", "First"), ("mid", "")]:
        assert invoke(["workflow", "save", "greet.json", name, "-d", description]).code == 0
    result = invoke(["workflow", "list"])
    assert result.stdout == (b"alpha-long-name  First\nmid\nzeta             Last\n")


def test_list_json_has_the_full_wrappers(greet, invoke):
    for name in ("b", "a"):
        assert invoke(["workflow", "save", "greet.json", name, "-d", f"desc {name}"]).code == 0
    result = invoke(["workflow", "list", "--json"])
    assert result.code == 0
    wrappers = result.json()
    assert [w["name"] for w in wrappers] == ["a", "b"]
    assert [w["description"] for w in wrappers] == ["desc a", "desc b"]
    assert all(w["ir"] == greet for w in wrappers)


def test_describe_unknown_name(invoke, sandbox):
    result = invoke(["workflow", "describe", "ghost"])
    assert result.code == 4
    assert result.stdout == b""
    assert result.err == (
        "Error: Workflow 'ghost' not found\n"
        f"  At: {saved(sandbox, 'ghost')}\n"
        "Hint: Run 'pflow workflow list' to see saved workflows\n"
    )


def test_describe_without_inputs_or_outputs(flows, invoke):
    flows.shell("echo hi")
    assert invoke(["workflow", "save", "flow.json", "plain"]).code == 0
    result = invoke(["workflow", "describe", "plain"])
    assert result.out == (
        "Workflow: plain\n"
        "Description: (none)\n"
        "\n"
        "Inputs: none\n"
        "Outputs: none\n"
        "\n"
        "Run it:\n"
        "  pflow plain\n"
    )


def test_delete_requires_yes_when_not_interactive(greet, invoke, sandbox):
    assert invoke(["workflow", "save", "greet.json", "greet"]).code == 0
    result = invoke(["workflow", "delete", "greet"])
    assert result.code == 2
    assert result.stdout == b""
    assert "Refusing to delete 'greet' without confirmation: add --yes" in result.err
    assert saved(sandbox, "greet").exists()


def test_delete_unknown_name(invoke):
    result = invoke(["workflow", "delete", "ghost", "--yes"])
    assert result.code == 4
    assert result.err.startswith("Error: Workflow 'ghost' not found\n")


# -- corrupt saved files ----------------------------------------------------------------------


@pytest.fixture
def corrupt(sandbox):
    sandbox.workflows_dir.mkdir(parents=True)
    path = saved(sandbox, "broken")
    path.write_text('{"name": "broken", "ir": ', encoding="utf-8")
    return path


def test_corrupt_file_describe_names_the_file(corrupt, invoke):
    result = invoke(["workflow", "describe", "broken"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith(f"Error: Saved workflow {corrupt} is not valid JSON: ")
    assert f"Hint: Fix or delete {corrupt}\n" in result.err


def test_corrupt_file_run_names_the_file(corrupt, invoke):
    result = invoke(["broken"])
    assert result.code == 1
    assert result.stdout == b""
    assert result.err.startswith(f"Error: Saved workflow {corrupt} is not valid JSON: ")
    assert "Traceback" not in result.err


def test_corrupt_file_run_json_mode(corrupt, invoke):
    result = invoke(["broken", "--output-format", "json"])
    assert result.code == 1
    doc = result.json()
    assert doc["success"] is False
    assert doc["error"]["type"] == "WorkflowStorageError"
    assert doc["error"]["path"] == str(corrupt)


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_corrupt_file_is_never_overwritten(corrupt, greet, invoke, force):
    before = corrupt.read_bytes()
    result = invoke(["workflow", "save", "greet.json", "broken", *force])
    assert result.code == 1
    assert str(corrupt) in result.err
    assert corrupt.read_bytes() == before


def test_corrupt_file_is_skipped_by_list_with_a_warning(corrupt, greet, invoke):
    assert invoke(["workflow", "save", "greet.json", "good", "-d", "Fine"]).code == 0
    result = invoke(["workflow", "list"])
    assert result.code == 0
    assert result.stdout == b"good  Fine\n"
    assert result.err.startswith(f"Warning: Saved workflow {corrupt} is not valid JSON: ")
    assert invoke(["workflow", "list", "--json"]).json()[0]["name"] == "good"


def test_corrupt_file_can_be_deleted(corrupt, invoke):
    result = invoke(["workflow", "delete", "broken", "--yes"])
    assert result.code == 0
    assert result.err == "Deleted workflow 'broken'\n"
    assert not corrupt.exists()
