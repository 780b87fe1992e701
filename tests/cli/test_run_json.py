"""`--output-format json`: exactly one JSON document on stdout for every outcome."""

from __future__ import annotations

import json

import pytest

SUCCESS_KEYS = [
    "success",
    "result",
    "workflow",
    "duration_ms",
    "total_cost_usd",
    "nodes_executed",
    "metrics",
]
FAILURE_KEYS = [
    "success",
    "error",
    "workflow",
    "duration_ms",
    "total_cost_usd",
    "nodes_executed",
    "metrics",
]
ZERO_TOTAL = {"tokens_input": 0, "tokens_output": 0, "tokens_total": 0, "cost_usd": 0.0}


def one_document(result):
    """stdout holds exactly one JSON document: 2-space indent, one trailing newline."""
    assert result.stdout.endswith(b"}\n"), result
    assert not result.stdout.endswith(b"\n\n")
    document = json.loads(result.out)  # raises "Extra data" for a second document
    assert isinstance(document, dict)
    assert result.out == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return document


def test_success_document(flows, invoke):
    flows.shell("echo hello", node_id="greet")
    result = invoke(["run", "flow.json", "--output-format", "json"])
    assert result.code == 0
    assert result.stderr == b""
    doc = one_document(result)
    assert list(doc) == SUCCESS_KEYS
    assert doc["success"] is True
    assert doc["result"] == {"stdout": "hello\n"}
    assert doc["workflow"] == {"action": "unsaved", "name": "flow.json"}
    assert isinstance(doc["duration_ms"], float)
    assert doc["total_cost_usd"] == 0.0
    assert doc["nodes_executed"] == 1
    assert list(doc["metrics"]) == ["workflow", "total"]
    workflow = doc["metrics"]["workflow"]
    assert list(workflow) == [
        "duration_ms",
        "nodes_executed",
        "cost_usd",
        "tokens_input",
        "tokens_output",
        "tokens_total",
        "models_used",
        "node_timings",
    ]
    assert workflow["nodes_executed"] == 1
    assert workflow["models_used"] == []
    assert list(workflow["node_timings"]) == ["greet"]
    assert doc["metrics"]["total"] == ZERO_TOTAL


def test_workflow_name_is_the_argument_as_typed(flows, invoke):
    flows.shell("echo hi", name="sub/dir/flow.json")
    result = invoke(["run", "./sub/dir/flow.json", "--output-format", "json"])
    assert one_document(result)["workflow"] == {
        "action": "unsaved",
        "name": "./sub/dir/flow.json",
    }


def test_output_format_is_case_insensitive(flows, invoke):
    flows.shell("echo hi")
    result = invoke(["run", "flow.json", "--output-format", "JSON"])
    assert result.code == 0
    assert one_document(result)["result"] == {"stdout": "hi\n"}


def test_declared_outputs_all_present_in_declaration_order(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(
            flows.shell_node("a", "echo A; exit 0"),
            outputs={
                "code": {"source": "${a.exit_code}"},
                "text": {"source": "${a.stdout}"},
                "missing": {"source": "${a.error}"},
            },
        ),
    )
    doc = one_document(invoke(["run", "flow.json", "--output-format", "json"]))
    assert doc["result"] == {"code": 0, "text": "A\n"}
    assert list(doc["result"]) == ["code", "text"]


def test_output_key_result(flows, invoke):
    flows.shell("echo hi")
    doc = one_document(invoke(["run", "flow.json", "--output-format", "json", "-o", "run.stdout"]))
    assert doc["result"] == {"run.stdout": "hi\n"}


def test_missing_output_key_gives_empty_result_and_no_warning(flows, invoke):
    flows.shell("echo hi")
    result = invoke(["run", "flow.json", "--output-format", "json", "-o", "nope"])
    assert result.code == 0
    assert result.stderr == b""
    assert one_document(result)["result"] == {}


def test_nothing_selected_gives_empty_result(flows, invoke):
    flows.shell("true")
    doc = one_document(invoke(["run", "flow.json", "--output-format", "json"]))
    assert doc["success"] is True
    assert doc["result"] == {}


def test_non_ascii_is_written_as_utf8(flows, invoke):
    flows.shell("printf 'h\\303\\251llo'")
    result = invoke(["run", "flow.json", "--output-format", "json"])
    assert '"stdout": "héllo"'.encode() in result.stdout
    assert one_document(result)["result"] == {"stdout": "héllo"}


def test_no_warnings_on_stderr_in_json_mode(flows, invoke):
    flows.shell("echo hi", inputs={"unused": {"type": "string", "required": False}})
    result = invoke(["run", "flow.json", "--output-format", "json"])
    assert result.code == 0
    assert result.stderr == b""
    assert one_document(result)["success"] is True


def test_verbose_keeps_stdout_a_single_document(flows, invoke):
    flows.shell("echo hi")
    result = invoke(["run", "flow.json", "--output-format", "json", "-v"])
    assert result.code == 0
    assert one_document(result)["result"] == {"stdout": "hi\n"}
    assert "pflow: workflow has 1 node(s)" in result.err


def test_llm_echo_model_metrics(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir({"id": "ask", "type": "llm", "params": {"prompt": "ping", "model": "echo"}}),
    )
    result = invoke(["run", "flow.json", "--output-format", "json"])
    assert result.code == 0, result
    doc = one_document(result)
    assert doc["result"]["response"]["prompt"] == "ping"
    assert doc["total_cost_usd"] is None
    workflow = doc["metrics"]["workflow"]
    assert workflow["models_used"] == ["echo"]
    assert workflow["tokens_total"] == workflow["tokens_input"] + workflow["tokens_output"] > 0
    total = doc["metrics"]["total"]
    assert total["pricing_available"] is False
    assert total["unavailable_models"] == ["echo"]


def test_saved_workflow_is_reported_as_reused(flows, invoke):
    flows.shell("echo saved")
    assert invoke(["workflow", "save", "flow.json", "my-flow"]).code == 0
    doc = one_document(invoke(["run", "my-flow", "--output-format", "json"]))
    assert doc["workflow"] == {"action": "reused", "name": "my-flow"}
    assert doc["result"] == {"stdout": "saved\n"}


def test_http_node_against_local_server(flows, invoke, httpserver):
    httpserver.expect_request("/items").respond_with_json({"items": [1, 2]})
    flows.write(
        "flow.json",
        flows.ir({"id": "get", "type": "http", "params": {"url": httpserver.url_for("/items")}}),
    )
    result = invoke(["run", "flow.json", "--output-format", "json"])
    assert result.code == 0, result
    assert one_document(result)["result"] == {"response": {"items": [1, 2]}}


# -- failures ---------------------------------------------------------------------------------


def failure(result, code, error_type):
    """Check the common shape of a failure document and return it."""
    assert result.code == code, result
    assert result.stderr == b""
    doc = one_document(result)
    assert list(doc) == FAILURE_KEYS
    assert doc["success"] is False
    assert doc["error"]["type"] == error_type
    assert isinstance(doc["error"]["message"], str)
    assert isinstance(doc["duration_ms"], float)
    return doc


def test_node_error_action(flows, invoke):
    flows.shell("echo oops >&2; exit 3", node_id="boom")
    result = invoke(["run", "flow.json", "--output-format", "json"])
    doc = failure(result, 1, "WorkflowFailedError")
    assert doc["error"] == {
        "type": "WorkflowFailedError",
        "message": "Node 'boom' (shell) failed: Command failed with exit code 3: oops",
        "node_id": "boom",
        "node_type": "shell",
        "hint": 'Add an edge from \'boom\' with "action": "error" to handle this failure',
    }
    assert doc["workflow"] == {"action": "unsaved", "name": "flow.json"}
    assert doc["nodes_executed"] == 1
    assert list(doc["metrics"]) == ["workflow", "total"]


def test_node_exception(flows, invoke):
    flows.shell("echo hi", node_id="cd", params={"cwd": "/nonexistent/dir"})
    doc = failure(invoke(["run", "flow.json", "--output-format", "json"]), 1, "NodeParamError")
    assert doc["error"]["node_id"] == "cd"
    assert "/nonexistent/dir" in doc["error"]["message"]
    assert "hint" in doc["error"]


def test_second_node_failure_counts_both_nodes(flows, invoke):
    flows.write(
        "flow.json",
        flows.ir(flows.shell_node("ok", "echo fine"), flows.shell_node("bad", "exit 5")),
    )
    doc = failure(invoke(["run", "flow.json", "--output-format", "json"]), 1, "WorkflowFailedError")
    assert doc["error"]["node_id"] == "bad"
    assert doc["nodes_executed"] == 2
    assert list(doc["metrics"]["workflow"]["node_timings"]) == ["ok", "bad"]


def test_file_not_found(invoke):
    doc = failure(
        invoke(["run", "missing.json", "--output-format", "json"]), 4, "WorkflowNotFoundError"
    )
    assert doc["error"]["message"] == "Workflow file 'missing.json' not found"
    assert doc["error"]["hint"]
    assert doc["workflow"] == {"action": "unsaved", "name": "missing.json"}
    assert doc["nodes_executed"] == 0
    assert doc["metrics"] == {"total": ZERO_TOTAL}


def test_saved_name_not_found(invoke):
    doc = failure(invoke(["run", "nope", "--output-format", "json"]), 4, "WorkflowNotFoundError")
    assert doc["error"]["message"] == "Workflow 'nope' not found"


def test_invalid_json(flows, invoke):
    flows.write("flow.json", "{ nope")
    doc = failure(invoke(["run", "flow.json", "--output-format", "json"]), 3, "WorkflowSyntaxError")
    assert doc["error"]["message"].startswith("Invalid JSON at line 1, column 3")
    assert doc["error"]["hint"] == "Fix the JSON syntax and try again"
    assert "details" in doc["error"]


def test_schema_error(flows, invoke):
    flows.write("flow.json", {"ir_version": "0.1.0", "nodes": []})
    doc = failure(
        invoke(["run", "flow.json", "--output-format", "json"]), 3, "SchemaValidationError"
    )
    assert doc["error"]["message"] == "Invalid workflow at /nodes: must contain at least one item"


@pytest.mark.parametrize(
    ("content", "error_type", "message"),
    [
        ('{"nodes": 5}', "SchemaValidationError", "Invalid workflow at /: "),
        (
            '{"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "shell"}], "inputs": 5}',
            "SchemaValidationError",
            "Invalid workflow at /inputs: expected an object, got the number 5",
        ),
        ("[1, 2]", "InvalidWorkflowError", "A workflow must be a JSON object"),
    ],
)
def test_malformed_workflow_is_invalid_not_a_crash(flows, invoke, content, error_type, message):
    flows.write("flow.json", content)
    doc = failure(invoke(["run", "flow.json", "--output-format", "json"]), 3, error_type)
    assert doc["error"]["message"].startswith(message)


def test_parameter_error_lists_declared_inputs(flows, invoke):
    flows.shell("echo ${name}", inputs={"name": {"type": "string", "description": "Who to greet"}})
    result = invoke(["run", "flow.json", "--output-format", "json", "name=Ada", "bogus=1"])
    doc = failure(result, 3, "ParameterError")
    assert doc["error"]["message"] == "Unknown parameter 'bogus'"
    assert doc["error"]["details"] == "Declared inputs:\n  name (string, required): Who to greet"
    assert doc["error"]["hint"] == (
        "Pass inputs as name=value after the workflow, e.g. name=<value>"
    )


def test_template_error_has_node_id(flows, invoke):
    flows.shell("echo ${ghost.stdout}", node_id="use")
    doc = failure(
        invoke(["run", "flow.json", "--output-format", "json"]), 3, "TemplateValidationError"
    )
    assert doc["error"]["node_id"] == "use"
    assert doc["nodes_executed"] == 0


def test_unresolved_stdin_template_at_run_time(test_nodes, flows, invoke):
    flows.write("flow.json", flows.ir(flows.echo_node("e", message="${stdin}")))
    doc = failure(
        invoke(["run", "flow.json", "--output-format", "json"]), 1, "TemplateResolutionError"
    )
    assert doc["error"]["node_id"] == "e"
    assert doc["error"]["hint"].startswith("Pipe data into pflow")


def test_http_error_status_is_a_failed_workflow(flows, invoke, httpserver):
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    url = httpserver.url_for("/missing")
    flows.write("flow.json", flows.ir({"id": "get", "type": "http", "params": {"url": url}}))
    doc = failure(invoke(["run", "flow.json", "--output-format", "json"]), 1, "WorkflowFailedError")
    assert doc["error"]["message"] == (
        f"Node 'get' (http) failed: HTTP 404 Not Found from GET {url}"
    )
    assert doc["error"]["node_id"] == "get"
