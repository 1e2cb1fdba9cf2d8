"""One error family for the whole project. Tool refusals are results (see results.py), not errors."""


class SupportAgentError(Exception):
    """Base of every error this project raises on purpose."""


class StoreError(SupportAgentError):
    """The database cannot be opened or used (missing, corrupt, locked for too long)."""


class PolicyError(SupportAgentError):
    """The policy document is missing or has an invalid rule parameter."""


class ToolArgumentError(SupportAgentError):
    """A tool was called with arguments that do not validate."""


class UnknownToolError(SupportAgentError):
    """No tool has that name."""
