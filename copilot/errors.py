"""Errors a user can act on. Each carries one line that says what to fix."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NO_CONCLUSION = 2


class CopilotError(Exception):
    """A user-facing problem: bad input, missing data, unreachable model.

    The message is a single line that says what to do; the CLI prints it without a
    traceback and exits with `exit_code`.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ConfigError(CopilotError):
    pass


class DataError(CopilotError):
    pass


class ModelError(CopilotError):
    """The model endpoint failed in a way retries could not fix."""


class ModelUnreachable(ModelError):
    """The model endpoint could not be reached, timed out, failed (5xx) or broke off: the
    settings may be right, the server is down. Rules can finish a run without it."""
