"""An agent run's ending, as a :class:`CallResult` or one of the project's errors (pure).

Never trust the agent's word: a ``result`` event can say ``subtype: success``
while ``is_error`` is true and ``api_error_status`` names the API's refusal,
so all three are read. Success means only that the run ended; the answer is
the file the agent wrote, which the pipeline then validates like any answer.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import (
    AuthenticationFailed,
    BadRequest,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    SpendLimitReached,
)
from orchestrator.providers.claude_code.runner import Finished

_AUTH_HINT = (
    "log Claude Code in (run `claude` once and use /login), or set ANTHROPIC_API_KEY; "
    "check ANTHROPIC_BASE_URL if you point it somewhere"
)
_TIMEOUT_HINT = (
    "the row stays pending; raise ORCHESTRATE_CLAUDE_IDLE_TIMEOUT_S or ORCHESTRATE_CLAUDE_ROW_TIMEOUT_S "
    "if the agent was only slow"
)
_SUBTYPE_HINTS = {
    "error_max_turns": "the agent used all its turns: raise ORCHESTRATE_CLAUDE_MAX_TURNS",
    "error_max_budget_usd": "the agent reached its per-row budget: raise ORCHESTRATE_CLAUDE_MAX_BUDGET_USD",
    "error_during_execution": "the agent failed while running; its message says why",
}


def session_note(session_id: str | None, kept: bool) -> str:
    if not session_id:
        return ""
    return f" (session {session_id}{'' if kept else ', deleted at the end of the run unless --keep-sessions'})"


def check_finished(done: Finished, *, sessions_kept: bool) -> dict[str, Any]:
    """The ``result`` event of a run that ended well; otherwise raise the matching error."""
    session = session_note(done.run.session_id, sessions_kept)
    if done.killed is not None:
        raise ProviderTimeout(f"{done.killed}; killed the agent's process group{session}", hint=_TIMEOUT_HINT)
    result = done.run.result
    if result is None:
        tail = done.stderr.strip().splitlines()[-3:]
        detail = f": {' / '.join(tail)}" if tail else ""
        raise ProviderError(
            f"the agent exited (code {done.returncode}) without a result{detail}{session}",
            hint="run the same claude command by hand to see why; `claude --version` checks the install",
        )
    if result.get("is_error") or result.get("subtype") != "success":
        raise result_error(result, session)
    return result


def result_error(result: dict[str, Any], session: str = "") -> ProviderError:
    """The project error for a failed ``result`` event."""
    status = result.get("api_error_status")
    subtype = str(result.get("subtype") or "")
    text = str(result.get("result") or "; ".join(map(str, result.get("errors") or [])) or subtype or "failed")
    message = f"the agent failed ({subtype}{f', API status {status}' if status else ''}): {text}{session}"
    if "usage limit" in text.lower():
        return SpendLimitReached(message, status=status, hint="the subscription's usage limit is reached: "
                                 "wait for it to reset, or run with --provider anthropic")
    if isinstance(status, int):
        return _status_error(status, message)
    return ProviderError(message, hint=_SUBTYPE_HINTS.get(subtype, "see the agent's message above"))


def _status_error(status: int, message: str) -> ProviderError:
    if status in (401, 403):
        return AuthenticationFailed(message, status=status, hint=_AUTH_HINT)
    if status == 402:
        return SpendLimitReached(message, status=status, hint="raise the spend limit, or wait for the next period")
    if status == 429:
        return RateLimited(message, status=status)
    if status >= 500 or status in (408, 409):
        return Overloaded(message, status=status)
    return BadRequest(message, status=status, hint="the API refused the agent's request; check the row's model")
