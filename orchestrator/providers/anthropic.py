"""The Anthropic Messages API provider: one HTTP call per :meth:`call`, no SDK retries.

The SDK is imported inside the class (it takes about a second to import), so
``import orchestrator.providers.anthropic`` is cheap and the CLI pays for the
SDK only when it calls a model. The client is built with ``max_retries=0``:
the dispatcher owns every retry, so that one 429 slows all workers down, every
attempt is counted, and every attempt's cost reaches the ledger.

Request layout (what makes prompt caching pay)::

    system   = [ {text: request.system},
                 {text: request.shared, cache_control: {type: ephemeral}} ]
    messages = request.turns  (the row's own message, then any repair turns)

Everything up to the marked block (instructions, format reference, content
rules) is identical for every row, so after the first call each row is billed
for it at the cache-read price. SDK errors become :mod:`orchestrator.errors`
here and nowhere else.
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Self, TypedDict

from orchestrator.errors import (
    AuthenticationFailed,
    BadInputError,
    BadRequest,
    ConfigError,
    ConnectionFailed,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    SpendLimitReached,
)
from orchestrator.models import Usage
from orchestrator.providers.base import CallRequest, CallResult, Provider, RateLimitState

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import (
        AssistantMessageParam,
        MessageParam,
        TextBlockParam,
        UserMessageParam,
    )

#: Cache lifetimes the API accepts on a ``cache_control`` block.
CacheTTL = Literal["5m", "1h"]


class CreateParams(TypedDict):
    """What :func:`request_params` returns: ``messages.create`` keyword arguments."""

    model: str
    max_tokens: int
    system: list[TextBlockParam]
    messages: list[MessageParam]

#: Total seconds one call may take (long outputs are slow); connecting gets 10 s.
DEFAULT_TIMEOUT_S = 600.0
_CONNECT_TIMEOUT_S = 10.0
#: ``error_code`` values of 429/402 responses that no retry can fix.
_SPEND_CODES = frozenset(
    {
        "enforced_spend_limit_reached",
        "contract_spend_limit_reached",
        "linked_organization_spend_limit_reached",
    }
)
_SPEND_CLASSES = (
    "EnforcedSpendLimitReachedError",
    "ContractSpendLimitReachedError",
    "LinkedOrganizationSpendLimitReachedError",
)
_KEY_HINT = "check ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN): missing, wrong, or lacking access"
#: Overrides the per-call timeout (seconds) of the ``anthropic`` and ``sim`` providers.
TIMEOUT_VARIABLE = "ORCHESTRATE_TIMEOUT_S"


def sdk_client(
    api_key: str | None, auth_token: str | None, base_url: str | None, timeout: float, *, max_retries: int
) -> anthropic.AsyncAnthropic:
    """The SDK client both Anthropic providers use; no key at all is bad input, before any call."""
    import anthropic

    client = anthropic.AsyncAnthropic(
        api_key=api_key,
        auth_token=auth_token,
        base_url=base_url,
        max_retries=max_retries,
        # Not the SDK's default Timeout object, so the SDK does not refuse
        # large max_tokens for non-streaming calls: the timeout is ours.
        timeout=anthropic.Timeout(timeout, connect=min(_CONNECT_TIMEOUT_S, timeout)),
    )
    if client.api_key is None and client.auth_token is None and client.credentials is None:
        raise BadInputError(
            "no Anthropic API key found",
            hint="set ANTHROPIC_API_KEY, or rehearse offline with --provider sim "
            "(or against `orchestrate sim serve` via ANTHROPIC_BASE_URL)",
        )
    return client


def options_from_env(env: Mapping[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the key, token, base URL and timeout read from ``env`` where not given."""
    options.setdefault("api_key", env.get("ANTHROPIC_API_KEY") or None)
    options.setdefault("auth_token", env.get("ANTHROPIC_AUTH_TOKEN") or None)
    options.setdefault("base_url", env.get("ANTHROPIC_BASE_URL") or None)
    timeout = timeout_from_env(env)
    if timeout is not None:
        options.setdefault("timeout", timeout)
    return options


def timeout_from_env(env: Mapping[str, str]) -> float | None:
    """``ORCHESTRATE_TIMEOUT_S`` as seconds, None when unset; a bad value is bad input."""
    raw = (env.get(TIMEOUT_VARIABLE) or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(
            f"{TIMEOUT_VARIABLE}={raw!r} is not a positive number of seconds",
            hint=f"set {TIMEOUT_VARIABLE} to e.g. 120, or unset it for the default",
        )
    return seconds


class AnthropicProvider(Provider):
    """Calls ``POST /v1/messages`` through ``anthropic.AsyncAnthropic``."""

    name = "anthropic"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        auth_token: str | None = None,
        cache_prefix: bool = True,
    ) -> None:
        import anthropic

        self._sdk = anthropic
        self._cache_prefix = cache_prefix
        self._client = sdk_client(api_key, auth_token, base_url, timeout, max_retries=0)

    @classmethod
    def create(cls, env: Mapping[str, str], **options: Any) -> Self:
        """Read the key, token and base URL from ``env`` unless given as options."""
        return cls(**options_from_env(env, options))

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def call(self, request: CallRequest) -> CallResult:
        started = time.perf_counter()
        try:
            raw = await self._client.messages.with_raw_response.create(
                **request_params(request, cache=self._cache_prefix)
            )
            message = await raw.parse()
        except self._sdk.APIError as exc:
            raise map_error(exc) from exc
        return call_result(
            message,
            latency_s=time.perf_counter() - started,
            request_id=raw.request_id,
            rate_limits=rate_limit_state(raw.headers),
        )

    async def count_tokens(self, request: CallRequest) -> int | None:
        return await count_request_tokens(self._client, request)

    async def aclose(self) -> None:
        await self._client.close()


async def count_request_tokens(client: anthropic.AsyncAnthropic, request: CallRequest) -> int:
    """The count-tokens endpoint's count of ``request`` (both Anthropic providers ask it this way)."""
    import anthropic

    try:
        counted = await client.messages.count_tokens(
            model=request.model, system=system_blocks(request), messages=message_params(request)
        )
    except anthropic.APIError as exc:
        raise map_error(exc) from exc
    return counted.input_tokens


# --- request layout ------------------------------------------------------------


def request_params(request: CallRequest, *, cache: bool = True, ttl: CacheTTL | None = None) -> CreateParams:
    """The keyword arguments of ``messages.create`` for ``request``: the one request layout.

    The online provider sends them as they are; the batch provider sends the
    same dict as each batch request's ``params`` (with ``ttl="1h"``).
    """
    return {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "system": system_blocks(request, cache=cache, ttl=ttl),
        "messages": message_params(request),
    }


def system_blocks(request: CallRequest, *, cache: bool = True, ttl: CacheTTL | None = None) -> list[TextBlockParam]:
    """Instructions, then the shared prefix marked as the cache breakpoint (empty parts omitted).

    ``cache=False`` leaves the mark out (only to measure what caching saves);
    ``ttl`` asks for a cache lifetime other than the default five minutes.
    """
    blocks: list[TextBlockParam] = []
    if request.system:
        blocks.append({"type": "text", "text": request.system})
    if request.shared:
        shared: TextBlockParam = {"type": "text", "text": request.shared}
        if cache:
            shared["cache_control"] = {"type": "ephemeral", "ttl": ttl} if ttl else {"type": "ephemeral"}
        blocks.append(shared)
    return blocks


def call_result(
    message: anthropic.types.Message,
    *,
    latency_s: float,
    request_id: str | None = None,
    rate_limits: RateLimitState | None = None,
) -> CallResult:
    """A :class:`CallResult` from the SDK's message (an online answer or a batch result)."""
    usage = message.usage
    return CallResult(
        text="".join(block.text for block in message.content if block.type == "text"),
        stop_reason=str(message.stop_reason or "end_turn"),
        usage=Usage(
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_creation_input_tokens or 0,
            usage.cache_read_input_tokens or 0,
        ),
        model=message.model,
        latency_s=latency_s,
        request_id=request_id,
        rate_limits=rate_limits,
    )


def message_params(request: CallRequest) -> list[MessageParam]:
    """The row's message and any repair turns, in order."""
    params: list[MessageParam] = []
    for turn in request.turns:
        param: UserMessageParam | AssistantMessageParam
        if turn.role == "user":
            param = {"role": "user", "content": turn.text}
        else:
            param = {"role": "assistant", "content": turn.text}
        params.append(param)
    return params


# --- response headers ------------------------------------------------------------


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _seconds_until(stamp: str | None, now: float) -> float | None:
    """Seconds from ``now`` (epoch) until an RFC 3339 time, at least 0; None if unreadable."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def rate_limit_state(headers: Mapping[str, str], now: float | None = None) -> RateLimitState | None:
    """The ``anthropic-ratelimit-*`` headers, or None when the response carried none."""
    now = time.time() if now is None else now
    prefix = "anthropic-ratelimit-"

    def num(name: str) -> int | None:
        return _int_header(headers, prefix + name)

    state = RateLimitState(
        requests_limit=num("requests-limit"),
        requests_remaining=num("requests-remaining"),
        tokens_limit=num("tokens-limit"),
        tokens_remaining=num("tokens-remaining"),
        input_tokens_limit=num("input-tokens-limit"),
        input_tokens_remaining=num("input-tokens-remaining"),
        requests_reset_s=_seconds_until(headers.get(prefix + "requests-reset"), now),
        input_tokens_reset_s=_seconds_until(headers.get(prefix + "input-tokens-reset"), now),
    )
    return None if state == RateLimitState() else state


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait: ``retry-after-ms`` first, then ``retry-after`` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --- errors ---------------------------------------------------------------------


def _describe(exc: anthropic.APIStatusError) -> str:
    kind = exc.type or "error"
    text = exc.api_message or exc.message
    rid = f" (request {exc.request_id})" if exc.request_id else ""
    return f"{exc.status_code} {kind}: {text}{rid}"


def _is_spend_limit(exc: anthropic.APIStatusError) -> bool:
    import anthropic

    classes = tuple(c for c in (getattr(anthropic, n, None) for n in _SPEND_CLASSES) if c)
    return isinstance(exc, classes) or exc.error_code in _SPEND_CODES or exc.status_code == 402


def map_error(exc: anthropic.APIError) -> ProviderError:
    """The project error for an SDK error (the only place the SDK's tree is read)."""
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderTimeout(
            "the call timed out before the answer was complete",
            hint=f"long outputs take time: raise the per-call timeout with {TIMEOUT_VARIABLE}",
        )
    if isinstance(exc, anthropic.APIConnectionError):
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        if _never_connected(exc):
            return connection_failed(exc.request.url, _root_cause(exc))
        return ProviderTimeout(f"connection failed: {exc.message}{cause}")
    if not isinstance(exc, anthropic.APIStatusError):
        return Overloaded(f"unusable response from the API: {exc.message}")
    return _map_status(exc)


#: transport errors (by class name, any base) raised before a request reached a server
_NO_CONNECTION = frozenset({"ConnectError", "UnsupportedProtocol", "ProxyError"})
BASE_URL_VARIABLE = "ANTHROPIC_BASE_URL"


def _never_connected(exc: BaseException) -> bool:
    """Refused, DNS, TLS or a bad URL, as opposed to a connection that dropped mid-call.

    The SDK wraps its HTTP library's error as ``__cause__``; names are matched
    so this module does not import that library (a dependency of the SDK, not ours).
    """
    cause = exc.__cause__
    return cause is not None and any(k.__name__ in _NO_CONNECTION for k in type(cause).__mro__)


def _root_cause(exc: BaseException) -> str:
    """The deepest OS-level reason (``Connection refused``, a DNS or TLS message), else the first."""
    found: list[str] = []
    current: BaseException | None = exc.__cause__
    while current is not None and len(found) < 10:
        if isinstance(current, OSError):
            code = current.errno
            found.append(os.strerror(code) if isinstance(code, int) and code > 0 else current.strerror or str(current))
        current = current.__cause__ or current.__context__
    return found[-1] if found else str(exc.__cause__ or exc)


def _origin(url: object) -> str:
    """``scheme://host[:port]`` of a request URL (no path: that is the SDK's)."""
    text = str(url)
    scheme, _, rest = text.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else text


def connection_failed(url: object, cause: str) -> ConnectionFailed:
    """The error for a URL that could not be reached at all, naming it and the variable to fix."""
    origin = _origin(url)
    return ConnectionFailed(
        f"cannot connect to {origin}: {cause}",
        url=origin,
        hint=f"check {BASE_URL_VARIABLE} (unset it for the Anthropic API) and your network; "
        "`orchestrate doctor PLAN` tests the connection without spending",
    )


def _map_status(exc: anthropic.APIStatusError) -> ProviderError:
    """Status (and ``x-should-retry``, which overrides it as in the SDK) to a project error.

    Spend limits and bad keys stop the run whatever the header says. Otherwise
    ``x-should-retry: false`` makes a normally retried answer a plain
    :class:`ProviderError` (the row fails, the run goes on), and
    ``x-should-retry: true`` makes a normally final 4xx a retried one.
    """
    status, text, rid = exc.status_code, _describe(exc), exc.request_id
    wait = retry_after(exc.response.headers)
    should_retry = (exc.response.headers.get("x-should-retry") or "").strip().lower()
    if _is_spend_limit(exc):
        return SpendLimitReached(
            text,
            status=status,
            request_id=rid,
            hint="raise the spend limit in the Anthropic Console, or wait for the next period",
        )
    if status in (401, 403):
        return AuthenticationFailed(text, status=status, request_id=rid, hint=_KEY_HINT)
    retried = status == 429 or status >= 500 or status in (408, 409)
    if retried and should_retry == "false":
        return ProviderError(
            text,
            status=status,
            request_id=rid,
            hint="the API answered x-should-retry: false, so this row was not retried",
        )
    if status == 429:
        return RateLimited(text, status=status, retry_after=wait, request_id=rid)
    if retried or should_retry == "true":
        return Overloaded(text, status=status, retry_after=wait, request_id=rid)
    return BadRequest(
        text,
        status=status,
        request_id=rid,
        hint="the request itself was refused; check the model name and max_tokens in the plan",
    )
