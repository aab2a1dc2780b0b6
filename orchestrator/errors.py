"""The project's one exception tree.

Every error a user can see is an :class:`OrchestratorError`. Each carries
*where* (``file:line`` when known) and a *hint* that names the fix, and an
``exit_code``: 2 for bad input (nothing was written), 1 for work that failed,
130 when the user interrupted (Ctrl-C). docs/cli.md has the table.
SDK errors are mapped into :class:`ProviderError` subclasses at the provider
boundary, so nothing above the providers ever imports the SDK to catch.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


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


class InputFileError(BadInputError):
    """A file the user named cannot be read safely (see :mod:`orchestrator.safeio`).

    Not a regular file (a FIFO, device or socket: reading it could wait or run
    forever), over its kind's size limit, a symlink loop, or unreadable.
    ``reason`` is one of :data:`orchestrator.safeio.REASONS`, so a caller can
    word the refusal for its own context without parsing the message.
    """

    def __init__(self, message: str, *, path: Path | str, reason: str, hint: str, line: int | None = None) -> None:
        super().__init__(message, path=path, line=line, hint=hint)
        self.reason = reason


class RequestTooLarge(BadInputError):
    """A request would not fit the model's context window: refused before it is sent, so nothing is spent."""


class ConfirmationRequired(BadInputError):
    """Spending needs a confirmation that cannot be asked for (no terminal)."""


class NotConfirmed(ConfirmationRequired):
    """The user answered no (or nothing) at a ``[y/N]`` question: exit 2, like no terminal."""


class Interrupted(OrchestratorError):
    """Ctrl-C where nothing had started yet (e.g. at the confirmation): exit 130."""

    exit_code = EXIT_INTERRUPTED


# --- work that failed (exit 1) --------------------------------------------


class LockHeldError(OrchestratorError):
    """Another process holds the plan's lock file."""


class RecordError(OrchestratorError):
    """A status change could not be recorded in the plan."""


class ValidationFailed(OrchestratorError):
    """An output file failed one or more checks."""


class EnvironmentFailure(OrchestratorError):
    """This machine cannot run a check (a linter is missing, crashed or hung).

    Not the model's fault: no repair turn can fix it, so the dispatcher stops
    instead of paying for one. ``problems`` are the checks' own messages.
    """

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        text = problems[0] if len(problems) == 1 else "; ".join(problems)
        super().__init__(
            f"a check cannot run on this machine: {text}",
            hint=hint or "install the missing tool (`orchestrate doctor PLAN` checks them all), then run again",
        )
        self.problems = list(problems)


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


class ConnectionFailed(ProviderError):
    """No connection could be made (refused, DNS, TLS, bad URL): not a slow API.

    The dispatcher retries it only briefly (``DispatchSettings.connection_retries``)
    and then stops the whole run: every other call would fail the same way.
    """

    retryable = True

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


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
