"""What a provider is: something that makes one model call and nothing else.

Providers know nothing of plans, retries, rate limits or files. They map their
SDK's errors to :mod:`orchestrator.errors` (``RateLimited``, ``Overloaded``,
``ProviderTimeout``, ``FatalProviderError`` and its subclasses) so that the
dispatcher above them never imports an SDK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from orchestrator.models import Usage

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    """One message of the conversation after the shared prefix."""

    role: Role
    text: str


@dataclass(frozen=True)
class CallRequest:
    """One call: a system prompt, a cacheable shared prefix, then the turns.

    ``shared`` is the same for every row of a plan; providers that support
    prompt caching mark it as cacheable. ``turns`` starts with the row's own
    user message; repair turns append (assistant draft, user complaint) pairs.
    """

    model: str  # the resolved model id
    system: str
    shared: str
    turns: tuple[Turn, ...]
    max_tokens: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitState:
    """What the API said about our limits in its response headers (None = not said)."""

    requests_limit: int | None = None
    requests_remaining: int | None = None
    tokens_limit: int | None = None
    tokens_remaining: int | None = None
    input_tokens_limit: int | None = None
    input_tokens_remaining: int | None = None
    #: seconds from the response until the request / input-token budget refills
    requests_reset_s: float | None = None
    input_tokens_reset_s: float | None = None


@dataclass(frozen=True)
class CallResult:
    """What one successful call returned."""

    text: str
    stop_reason: str  # end_turn, max_tokens, ...
    usage: Usage
    model: str
    latency_s: float
    request_id: str | None = None
    rate_limits: RateLimitState | None = None
    # Agent runtimes (``claude-code``): one call is a whole agent run of several turns.
    session_id: str | None = None  # the agent's session, for a repair to resume
    num_turns: int | None = None  # model turns the agent took
    client_cost_usd: float | None = None  # the runtime's own cost figure (``total_cost_usd``)
    startup_s: float | None = None  # from starting the agent to its first event
    #: True when ``client_cost_usd`` is the client's estimate, not what is billed
    #: (a Claude subscription is not billed per token at all)
    cost_is_estimate: bool = False

    @property
    def truncated(self) -> bool:
        return self.stop_reason in ("max_tokens", "model_context_window_exceeded")


class Provider(ABC):
    """Base class of every provider; subclasses join the registry by entry point."""

    #: the name users pass to ``--provider``
    name: ClassVar[str]
    #: True when the provider bills at batch prices (informs cost estimates)
    batch_pricing: ClassVar[bool] = False
    #: True when each call runs an agent that writes the row's file itself: its request then
    #: carries the agent's task (see :func:`orchestrator.providers.claude_code.request.agent_metadata`)
    runs_agents: ClassVar[bool] = False

    @classmethod
    def create(cls, env: Mapping[str, str], **options: Any) -> Self:
        """Build the provider for ``--provider NAME``: the registry's one way in.

        ``env`` is the environment to read settings from (``os.environ`` in the
        CLI, a plain dict in tests); ``options`` are the CLI's provider options.
        The default passes ``options`` to the constructor; override to read ``env``.
        """
        return cls(**options)

    @classmethod  # noqa: B027 - optional hook, nothing to check by default
    def check_env(cls, env: Mapping[str, str]) -> None:
        """Raise :class:`~orchestrator.errors.ConfigError` for what in ``env`` :meth:`create` would refuse.

        Called before anything is written, so a bad setting is bad input that leaves no trace.
        """

    @abstractmethod
    async def call(self, request: CallRequest) -> CallResult:
        """Make exactly one call. Raise only :class:`orchestrator.errors.ProviderError`s."""

    async def count_tokens(self, request: CallRequest) -> int | None:
        """Input tokens the request would bill, if the provider can count them; else None."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections (and any child process); called once at the end."""
