"""The Message Batches provider: the online request layout, sent as batches at half the price.

This module is only the SDK boundary: create, retrieve, list, cancel and
stream results, each one call, SDK errors mapped to :mod:`orchestrator.errors`
by the same :func:`~orchestrator.providers.anthropic.map_error` as the online
provider. Everything that makes batches safe (the submission journal,
splitting, polling, salvage, repairs) lives in :mod:`orchestrator.batches`.

Each request's ``params`` are exactly what the online provider would send
(:func:`~orchestrator.providers.anthropic.request_params`), except that the
shared prefix is cached for one hour: a batch may take longer than the
five-minute cache lives.

``create`` is never retried by the SDK: a retried POST whose first answer was
lost would create a second batch. Reads (retrieve, list, results) keep the
SDK's two retries, which cannot spend anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from orchestrator.batches.api import BatchInfo, BatchRequest, BatchResultLine, RequestCounts
from orchestrator.errors import FatalProviderError
from orchestrator.providers.anthropic import (
    DEFAULT_TIMEOUT_S,
    AnthropicProvider,
    CacheTTL,
    call_result,
    count_request_tokens,
    map_error,
    options_from_env,
    request_params,
    sdk_client,
)
from orchestrator.providers.base import CallRequest, CallResult, Provider

if TYPE_CHECKING:
    from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse

#: The cache lifetime batch requests ask for (a batch can outlive five minutes).
BATCH_CACHE_TTL: CacheTTL = "1h"
_LIST_PAGE = 100


class AnthropicBatchProvider(Provider):
    """The Message Batches endpoints of ``anthropic.AsyncAnthropic`` (a :class:`BatchAPI`)."""

    name = "anthropic-batch"
    batch_pricing: ClassVar[bool] = True

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        auth_token: str | None = None,
    ) -> None:
        import anthropic

        self._sdk = anthropic
        self._options: dict[str, Any] = {
            "api_key": api_key, "auth_token": auth_token, "base_url": base_url, "timeout": timeout,
        }
        self._client = sdk_client(api_key, auth_token, base_url, timeout, max_retries=2)

    @classmethod
    def create(cls, env: Mapping[str, str], **options: Any) -> Self:
        """Read the key, token and base URL from ``env`` unless given as options."""
        return cls(**options_from_env(env, options))

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def online(self) -> AnthropicProvider:
        """The online provider with the same credentials (for ``--repair-online``)."""
        return AnthropicProvider(**self._options)

    # --- Provider ------------------------------------------------------------------

    async def call(self, request: CallRequest) -> CallResult:
        """Refused: single calls go to the online provider, rows go through :mod:`orchestrator.batches`."""
        raise FatalProviderError(
            "the anthropic-batch provider submits Message Batches; it makes no single calls",
            hint="run it through `orchestrate run/process --provider anthropic-batch`, or use --provider anthropic",
        )

    async def count_tokens(self, request: CallRequest) -> int | None:
        return await count_request_tokens(self._client, request)

    async def aclose(self) -> None:
        await self._client.close()

    # --- BatchAPI --------------------------------------------------------------------

    def batch_params(self, request: CallRequest) -> Mapping[str, Any]:
        return request_params(request, ttl=BATCH_CACHE_TTL)

    async def create_batch(self, requests: Sequence[BatchRequest]) -> BatchInfo:
        body: Any = [{"custom_id": custom_id, "params": params} for custom_id, params in requests]
        try:
            batch = await self._client.with_options(max_retries=0).messages.batches.create(requests=body)
        except self._sdk.APIError as exc:
            raise map_error(exc) from exc
        return batch_info(batch)

    async def retrieve_batch(self, batch_id: str) -> BatchInfo:
        try:
            return batch_info(await self._client.messages.batches.retrieve(batch_id))
        except self._sdk.APIError as exc:
            raise map_error(exc) from exc

    async def cancel_batch(self, batch_id: str) -> BatchInfo:
        try:
            return batch_info(await self._client.messages.batches.cancel(batch_id))
        except self._sdk.APIError as exc:
            raise map_error(exc) from exc

    async def recent_batches(self, since: datetime) -> AsyncIterator[BatchInfo]:
        try:
            async for batch in self._client.messages.batches.list(limit=_LIST_PAGE):
                if batch.created_at < since:
                    return
                yield batch_info(batch)
        except self._sdk.APIError as exc:
            raise map_error(exc) from exc

    async def batch_results(self, batch_id: str) -> AsyncIterator[BatchResultLine]:
        try:
            decoder = await self._client.messages.batches.results(batch_id)
            async for line in decoder:
                yield result_line(line)
        except self._sdk.APIError as exc:
            raise map_error(exc) from exc


def batch_info(batch: MessageBatch) -> BatchInfo:
    counts = batch.request_counts
    return BatchInfo(
        id=batch.id,
        status=batch.processing_status,
        counts=RequestCounts(counts.processing, counts.succeeded, counts.errored, counts.canceled, counts.expired),
        created_at=batch.created_at,
        expires_at=batch.expires_at,
        ended_at=batch.ended_at,
        cancel_initiated_at=batch.cancel_initiated_at,
    )


def result_line(line: MessageBatchIndividualResponse) -> BatchResultLine:
    result = line.result
    if result.type == "succeeded":
        message = result.message
        return BatchResultLine(line.custom_id, "succeeded", call_result(message, latency_s=0.0, request_id=message.id))
    if result.type == "errored":
        error = result.error.error
        return BatchResultLine(line.custom_id, "errored", error_type=error.type, error=error.message)
    return BatchResultLine(line.custom_id, result.type)
