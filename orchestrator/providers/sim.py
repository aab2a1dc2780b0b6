"""The ``sim`` provider: the Anthropic provider pointed at the local API simulator.

It is not a fake: it sends the same requests over the same wire path as the
real provider (the real SDK, HTTP on loopback), so a rehearsal exercises the
error mapping, rate-limit headers and prompt caching exactly as a paid run
would. With ``ORCHESTRATE_SIM_URL`` set it uses that simulator; otherwise it
starts an in-process :class:`orchestrator.sim.server.SimServer` (configured by
``ORCHESTRATE_SIM``) on first use and stops it in :meth:`aclose`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from orchestrator.errors import ConfigError
from orchestrator.providers.anthropic import AnthropicProvider, timeout_from_env
from orchestrator.providers.base import CallRequest, CallResult, Provider

if TYPE_CHECKING:
    from orchestrator.sim.config import SimConfig
    from orchestrator.sim.server import SimServer

URL_VARIABLE = "ORCHESTRATE_SIM_URL"
SIM_VARIABLE = "ORCHESTRATE_SIM"
SIM_API_KEY = "sk-sim"
#: The simulator answers fast; a stuck call should fail a rehearsal quickly.
SIM_TIMEOUT_S = 60.0


def sim_config(text: str | None) -> SimConfig:
    """The simulator's settings from an ``ORCHESTRATE_SIM`` value; :class:`ConfigError` when invalid."""
    from orchestrator.sim.config import SimConfig

    try:
        return SimConfig.from_env(text)
    except ValueError as exc:
        raise ConfigError(
            str(exc),
            hint=f"{SIM_VARIABLE} takes comma-separated key=value settings such as 'seed=7,p429=0.1' "
            "(docs/simulator.md lists the keys), or unset it",
        ) from None


class SimProvider(Provider):
    """An :class:`AnthropicProvider` whose base URL is a simulator (started if needed).

    ``url=None`` starts an in-process simulator configured by ``config``, else by
    ``sim_env`` (an ``ORCHESTRATE_SIM`` value; ``None`` reads the variable).
    :meth:`create` (the registry's way in) reads both variables from its ``env``.
    """

    name = "sim"

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = SIM_TIMEOUT_S,
        *,
        config: SimConfig | None = None,
        sim_env: str | None = None,
    ) -> None:
        self._url = url
        self._api_key = api_key or SIM_API_KEY
        self._timeout = timeout
        self._config = config
        self._sim_env = sim_env
        self._server: SimServer | None = None
        self._inner: AnthropicProvider | None = None

    @classmethod
    def create(cls, env: Mapping[str, str], **options: Any) -> Self:
        """``ORCHESTRATE_SIM_URL``, ``ORCHESTRATE_SIM`` and ``ORCHESTRATE_TIMEOUT_S`` from ``env``."""
        options.setdefault("url", env.get(URL_VARIABLE) or None)
        options.setdefault("sim_env", env.get(SIM_VARIABLE, ""))
        if options["url"] is None and options.get("config") is None:
            options["config"] = sim_config(options.pop("sim_env"))
        timeout = timeout_from_env(env)
        if timeout is not None:
            options.setdefault("timeout", timeout)
        return cls(**options)

    @classmethod
    def check_env(cls, env: Mapping[str, str]) -> None:
        """A bad ``ORCHESTRATE_SIM`` is refused before anything is written (unless a URL is given)."""
        if not env.get(URL_VARIABLE):
            sim_config(env.get(SIM_VARIABLE, ""))

    @property
    def server(self) -> SimServer | None:
        """The in-process simulator, once started (None when using ``ORCHESTRATE_SIM_URL``)."""
        return self._server

    def _provider(self) -> AnthropicProvider:
        if self._inner is None:
            url = self._url or self._start_server()
            self._inner = AnthropicProvider(api_key=self._api_key, base_url=url, timeout=self._timeout)
        return self._inner

    def _start_server(self) -> str:
        from orchestrator.sim.server import SimServer

        config = self._config or sim_config(self._sim_env)
        self._server = SimServer(config)
        return self._server.start()

    @property
    def base_url(self) -> str:
        return self._provider().base_url

    async def call(self, request: CallRequest) -> CallResult:
        return await self._provider().call(request)

    async def count_tokens(self, request: CallRequest) -> int | None:
        return await self._provider().count_tokens(request)

    async def aclose(self) -> None:
        try:
            if self._inner is not None:
                await self._inner.aclose()
        finally:
            self._inner = None
            if self._server is not None:
                self._server.stop()
                self._server = None
