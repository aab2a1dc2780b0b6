"""The project's one exception tree.

Every error a user can see is an :class:`OrchestratorError`. Each carries
*where* (``file:line`` when known) and a *hint* that names the fix, and an
``exit_code``: 2 for bad input (nothing was written), 1 for work that failed.
SDK errors are mapped into :class:`ProviderError` subclasses at the provider
boundary, so nothing above the providers ever imports the SDK to catch.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class OrchestratorError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = EXIT_FAILED

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    @property
    def where(self) -> str | None:
        """``file:line`` (or just ``file``) when the error has a location."""
        if self.path is None:
            return None
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)

    def render(self) -> str:
        """One user-facing text: location, message, and the hint on its own line."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n  hint: {self.hint}" if self.hint else head


# --- bad input (exit 2) ---------------------------------------------------


class BadInputError(OrchestratorError):
    """The user's input cannot be used as given; nothing was written."""

    exit_code = EXIT_BAD_INPUT


class PlanError(BadInputError):
    """The plan file cannot be read or is structurally unusable."""


class PlanProblems(PlanError):
    """Several problems found at once in a plan (``orchestrate check``)."""

    def __init__(self, problems: list[Problem], path: Path | str) -> None:
        self.problems = problems
        lines = "\n".join(p.render() for p in problems)
        text = lines if len(problems) == 1 else f"{len(problems)} problems in the plan:\n{lines}"
        super().__init__(text, path=None)


class ConfigError(BadInputError):
    """A configuration file or option is invalid."""


class ModelNotFoundError(ConfigError):
    """A model name has no entry in the model table."""


class CheckpointError(BadInputError):
    """A file of a batch folder (``batch.json``, a checkpoint, the ledger) is damaged."""


class ConfirmationRequired(BadInputError):
    """Spending needs a confirmation that cannot be asked for (no terminal)."""


# --- work that failed (exit 1) --------------------------------------------


class LockHeldError(OrchestratorError):
    """Another process holds the plan's lock file."""


class RecordError(OrchestratorError):
    """A status change could not be recorded in the plan."""


class ValidationFailed(OrchestratorError):
    """An output file failed one or more checks."""


class ProviderError(OrchestratorError):
    """A model call failed. Raised only by providers, mapped from SDK errors."""

    #: whether the dispatcher may try the same call again
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id


class RateLimited(ProviderError):
    """429: slow every worker down, then retry."""

    retryable = True


class Overloaded(ProviderError):
    """529 or another 5xx: retry with backoff."""

    retryable = True


class ProviderTimeout(ProviderError):
    """The call timed out or the connection dropped: retry a bounded number of times."""

    retryable = True


class FatalProviderError(ProviderError):
    """401, 403, spend limit, or a 400 for the request itself: stop dispatching."""


class AuthenticationFailed(FatalProviderError):
    """401/403: the key is missing, wrong, or lacks permission."""


class SpendLimitReached(FatalProviderError):
    """The organisation's spend limit is reached."""


class BadRequest(FatalProviderError):
    """400/413/422: the request itself is wrong; retrying cannot help."""


class Problem:
    """One located problem in an input file, rendered as ``file:line: message``."""

    __slots__ = ("hint", "line", "message", "path")

    def __init__(self, path: Path | str, line: int | None, message: str, hint: str = "") -> None:
        self.path = path
        self.line = line
        self.message = message
        self.hint = hint

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        text = f"{where}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def as_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "line": self.line, "message": self.message, "hint": self.hint}

    def __repr__(self) -> str:
        return f"Problem({self.render()!r})"
