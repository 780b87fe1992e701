"""Echo node: a side-effect-free test node that repeats a message."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from pflow.nodes.base import PflowNode


def echo_text(message: str, *, count: int, prefix: str, suffix: str, uppercase: bool) -> str:
    """`prefix + message + suffix`, `count` times joined by spaces, upper-cased on request."""
    text = " ".join([f"{prefix}{message}{suffix}"] * count)
    return text.upper() if uppercase else text


class EchoNode(PflowNode):
    """Repeat `message`; always takes the default action."""

    def prep(self, shared: MutableMapping[str, Any]) -> dict[str, Any]:
        count: int = self.param("count")
        if count < 0:
            raise self.fail(f"count must be 0 or more, got {count}", hint='For example "count": 2')
        return {
            "message": self.param("message"),
            "count": count,
            "prefix": self.param("prefix"),
            "suffix": self.param("suffix"),
            "uppercase": self.param("uppercase"),
            "data": self.param("data"),
        }

    def exec(self, prep_res: dict[str, Any]) -> dict[str, Any]:
        p = prep_res
        outputs: dict[str, Any] = {
            "echo": echo_text(
                p["message"],
                count=p["count"],
                prefix=p["prefix"],
                suffix=p["suffix"],
                uppercase=p["uppercase"],
            ),
            "metadata": {
                "original_message": p["message"],
                "count": p["count"],
                "modified": bool(p["prefix"] or p["suffix"] or p["uppercase"]),
            },
        }
        if p["data"] is not None:
            outputs["data"] = p["data"]
        return outputs

    def post(
        self, shared: MutableMapping[str, Any], prep_res: dict[str, Any], exec_res: dict[str, Any]
    ) -> str:
        self.write(shared, **exec_res)
        return "default"
