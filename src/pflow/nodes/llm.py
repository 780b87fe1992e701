"""LLM node: send a prompt to a model through Simon Willison's llm library."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from pflow.foundation.exceptions import NodeExecutionError, PflowError
from pflow.foundation.json_safe import loads_json
from pflow.nodes.base import PflowNode

logger = logging.getLogger(__name__)

_JSON_FENCE = re.compile(r"```json[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class ModelReply:
    """The text a model answered and what the call cost in tokens."""

    model_id: str
    text: str
    input_tokens: int
    output_tokens: int


def call_model(
    model_id: str | None, prompt: str, *, system: str | None, options: dict[str, Any]
) -> ModelReply:
    """Prompt the model (llm's default when `model_id` is None) and wait for the whole answer.

    Raises NodeExecutionError, without a node id, for an unknown model, a missing key, an
    option the model does not take, or any failure of the call itself.
    """
    import llm

    name: str = model_id or llm.get_default_model()  # type: ignore[no-untyped-call]
    try:
        model = llm.get_model(name)
    except llm.UnknownModelError:
        raise NodeExecutionError(
            f"Unknown model '{name}'", hint="Run 'llm models' to list the models installed"
        ) from None
    unsupported = sorted(set(options) - set(model.Options.model_fields))
    if unsupported:
        raise NodeExecutionError(
            f"Model '{model.model_id}' does not support the option(s) {', '.join(unsupported)}",
            hint=f"Remove {', '.join(unsupported)} from the node's params, or use another model",
        )
    try:
        response = model.prompt(prompt, system=system, stream=False, **options)
        text = response.text()
        usage = response.usage()
    except llm.NeedsKeyException as exc:
        env_var = (
            f" or set the {model.key_env_var} environment variable" if model.key_env_var else ""
        )
        raise NodeExecutionError(
            f"Model '{model.model_id}' needs an API key and none is set",
            hint=f"Run 'llm keys set {model.needs_key}'{env_var}",
            details=str(exc),
        ) from exc
    except Exception as exc:
        raise NodeExecutionError(f"LLM call to {model.model_id} failed: {exc}") from exc
    return ModelReply(model.model_id, text, usage.input or 0, usage.output or 0)


def parse_response(text: str) -> Any:
    """The JSON object or array in `text` (whole, or its first ```json block), else `text`."""
    candidates = [text.strip()]
    fence = _JSON_FENCE.search(text)
    if fence:
        candidates.append(fence.group(1).strip())
    for candidate in candidates:
        if candidate[:1] in ("{", "["):
            try:
                value = loads_json(candidate)
            except ValueError:
                continue
            if isinstance(value, dict | list):
                return value
    return text


class LLMNode(PflowNode):
    """Prompt a model; the answer is parsed when it is JSON, and token usage is recorded."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        options = {
            name: value
            for name in ("temperature", "max_tokens")
            if (value := self.param(name)) is not None
        }
        temperature = options.get("temperature")
        if temperature is not None and not 0 <= temperature <= 2:
            raise self.fail(
                f"temperature must be between 0 and 2, got {temperature!r}",
                hint="Use 0 for the most deterministic answers",
            )
        if options.get("max_tokens", 1) < 1:
            raise self.fail("max_tokens must be at least 1", hint='For example "max_tokens": 500')
        return {
            "model": self.param("model") or None,
            "prompt": self.param("prompt"),
            "system": self.param("system"),
            "options": options,
        }

    def exec(self, prep_res: dict[str, Any]) -> ModelReply:
        logger.debug("prompting %s", prep_res["model"] or "the default model")
        try:
            return call_model(
                prep_res["model"],
                prep_res["prompt"],
                system=prep_res["system"],
                options=prep_res["options"],
            )
        except PflowError as exc:
            exc.message = f"Node '{self.node_id}' (llm): {exc.message}"
            exc.node_id = exc.node_id or self.node_id
            exc.node_type = exc.node_type or self.spec.name
            raise

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: ModelReply
    ) -> str:
        usage = {
            "model": exec_res.model_id,
            "input_tokens": exec_res.input_tokens,
            "output_tokens": exec_res.output_tokens,
            "total_tokens": exec_res.input_tokens + exec_res.output_tokens,
        }
        self.write(shared, response=parse_response(exec_res.text), llm_usage=usage)
        self.record_llm_call(shared, {**usage, "node_id": self.node_id})
        return "default"
