"""A third-party node package used by the golden cases: nodes that misbehave."""

from pflow.nodes.base import PflowNode
from pflow.nodes.spec import NodeSpec, ParamSpec


class Raiser(PflowNode):
    """Raises a plain Python exception while it runs."""

    def exec(self, prep_res):
        raise RuntimeError("the disk said no")


class SilentError(PflowNode):
    """Returns an error action without writing an error message."""

    def post(self, shared, prep_res, exec_res):
        return "error"


RAISER = NodeSpec(
    name="raiser",
    module="demo_nodes",
    class_name="Raiser",
    description="Raise RuntimeError when run.",
    package="demo-nodes",
)
SILENT_ERROR = NodeSpec(
    name="silent-error",
    module="demo_nodes",
    class_name="SilentError",
    description="Return the error action with no message.",
    package="demo-nodes",
    params=(ParamSpec("note", "string", "Ignored", default=""),),
    actions=("default", "error"),
)
