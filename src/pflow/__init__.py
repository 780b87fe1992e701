"""pflow: run JSON-defined workflows of shell, file, HTTP and LLM steps."""

__version__ = "0.1.0"
