"""The built-in node types: their specs, declared here so listing them imports no node code."""

from __future__ import annotations

from pflow.nodes.spec import NodeSpec, OutputSpec, ParamSpec

_ERROR = OutputSpec("error", "string", "Why the node took its error action (only on failure)")

SHELL = NodeSpec(
    name="shell",
    module="pflow.nodes.shell",
    class_name="ShellNode",
    description="Run a shell command and capture its output and exit code.",
    package="shell",
    params=(
        ParamSpec("command", "string", "Command line, run by /bin/sh -c", required=True),
        ParamSpec("stdin", "any", "Text sent to the command's standard input"),
        ParamSpec("cwd", "string", "Working directory (must exist; ~ is expanded)"),
        ParamSpec("env", "object", "Extra environment variables, merged over pflow's own"),
        ParamSpec("timeout", "number", "Seconds before the command is killed", default=30),
        ParamSpec("ignore_errors", "boolean", "Continue on a non-zero exit code", default=False),
    ),
    outputs=(
        OutputSpec("stdout", "string", "Standard output of the command"),
        OutputSpec("stderr", "string", "Standard error of the command"),
        OutputSpec("exit_code", "integer", "Exit status (-1 on timeout)"),
        _ERROR,
    ),
    actions=("default", "error"),
)

READ_FILE = NodeSpec(
    name="read-file",
    module="pflow.nodes.file.read",
    class_name="ReadFileNode",
    description="Read a text file.",
    package="file",
    params=(
        ParamSpec("file_path", "string", "Path of the file to read", required=True),
        ParamSpec("encoding", "string", "Text encoding", default="utf-8"),
    ),
    outputs=(
        OutputSpec("content", "string", "The file's text"),
        OutputSpec("file_path", "string", "Absolute path that was read"),
        _ERROR,
    ),
    actions=("default", "error"),
    max_retries=1,
)

WRITE_FILE = NodeSpec(
    name="write-file",
    module="pflow.nodes.file.write",
    class_name="WriteFileNode",
    description="Write or append text to a file, creating parent directories.",
    package="file",
    params=(
        ParamSpec("file_path", "string", "Path of the file to write", required=True),
        ParamSpec(
            "content",
            "any",
            "Text to write (objects and arrays are written as JSON)",
            required=True,
        ),
        ParamSpec("encoding", "string", "Text encoding", default="utf-8"),
        ParamSpec("append", "boolean", "Append instead of replacing the file", default=False),
    ),
    outputs=(
        OutputSpec("written", "string", "What was written where"),
        OutputSpec("file_path", "string", "Absolute path that was written"),
        _ERROR,
    ),
    actions=("default", "error"),
)

_COPY_MOVE_PARAMS = (
    ParamSpec("source_path", "string", "File to copy or move", required=True),
    ParamSpec("dest_path", "string", "Destination path", required=True),
    ParamSpec("overwrite", "boolean", "Replace an existing destination", default=False),
)

COPY_FILE = NodeSpec(
    name="copy-file",
    module="pflow.nodes.file.copy",
    class_name="CopyFileNode",
    description="Copy a file, creating the destination directory.",
    package="file",
    params=_COPY_MOVE_PARAMS,
    outputs=(OutputSpec("copied", "string", "What was copied where"), _ERROR),
    actions=("default", "error"),
)

MOVE_FILE = NodeSpec(
    name="move-file",
    module="pflow.nodes.file.move",
    class_name="MoveFileNode",
    description="Move or rename a file, creating the destination directory.",
    package="file",
    params=_COPY_MOVE_PARAMS,
    outputs=(OutputSpec("moved", "string", "What was moved where"), _ERROR),
    actions=("default", "error"),
)

DELETE_FILE = NodeSpec(
    name="delete-file",
    module="pflow.nodes.file.delete",
    class_name="DeleteFileNode",
    description="Delete a file (requires confirm_delete: true).",
    package="file",
    params=(
        ParamSpec("file_path", "string", "File to delete", required=True),
        ParamSpec(
            "confirm_delete",
            "boolean",
            "Must be true: a guard against accidents",
            required=True,
        ),
    ),
    outputs=(OutputSpec("deleted", "string", "What was deleted"), _ERROR),
    actions=("default", "error"),
)

HTTP = NodeSpec(
    name="http",
    module="pflow.nodes.http",
    class_name="HttpNode",
    description="Send an HTTP request and capture the response.",
    package="http",
    params=(
        ParamSpec("url", "string", "URL to request", required=True),
        ParamSpec("method", "string", "HTTP method (default GET, or POST when a body is given)"),
        ParamSpec("headers", "object", "Request headers"),
        ParamSpec("params", "object", "Query-string parameters"),
        ParamSpec("body", "any", "Request body: objects and arrays are sent as JSON"),
        ParamSpec("timeout", "number", "Seconds to wait for the response", default=30),
        ParamSpec("auth_token", "string", "Sent as 'Authorization: Bearer <token>'"),
    ),
    outputs=(
        OutputSpec("response", "any", "Response body: parsed JSON when the server sends JSON"),
        OutputSpec("status_code", "integer", "HTTP status code"),
        OutputSpec("response_headers", "object", "Response headers"),
        OutputSpec("response_time", "number", "Seconds the request took"),
        _ERROR,
    ),
    actions=("default", "error"),
    max_retries=2,
    wait=0.2,
)

LLM = NodeSpec(
    name="llm",
    module="pflow.nodes.llm",
    class_name="LLMNode",
    description="Send a prompt to a language model through the llm library.",
    package="llm",
    params=(
        ParamSpec("prompt", "string", "The prompt", required=True),
        ParamSpec("system", "string", "System prompt"),
        ParamSpec("model", "string", "Model id as the llm library knows it (default: llm's)"),
        ParamSpec("temperature", "number", "Sampling temperature, 0 to 2"),
        ParamSpec("max_tokens", "integer", "Upper bound on response tokens"),
    ),
    outputs=(
        OutputSpec("response", "any", "The model's answer (parsed when it is JSON)"),
        OutputSpec("llm_usage", "object", "Model and token counts of the call"),
    ),
    max_retries=1,
)

ECHO = NodeSpec(
    name="echo",
    module="pflow.nodes.echo",
    class_name="EchoNode",
    description="Test node: repeat a message (listed only with PFLOW_INCLUDE_TEST_NODES=1).",
    package="test",
    params=(
        ParamSpec("message", "string", "Text to echo", default="Hello, World!"),
        ParamSpec("count", "integer", "How many times to repeat it", default=1),
        ParamSpec("prefix", "string", "Text before the message", default=""),
        ParamSpec("suffix", "string", "Text after the message", default=""),
        ParamSpec("uppercase", "boolean", "Upper-case the result", default=False),
        ParamSpec("data", "any", "Any value, copied to the output unchanged"),
    ),
    outputs=(
        OutputSpec("echo", "string", "The echoed text"),
        OutputSpec("metadata", "object", "original_message, count and modified"),
        OutputSpec("data", "any", "The data parameter, when given"),
    ),
    hidden=True,
)

BUILTIN_SPECS: tuple[NodeSpec, ...] = (
    SHELL,
    READ_FILE,
    WRITE_FILE,
    COPY_FILE,
    MOVE_FILE,
    DELETE_FILE,
    HTTP,
    LLM,
    ECHO,
)
