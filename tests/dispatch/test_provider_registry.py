"""The provider registry: entry points only, default selection, helpful errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.errors import EXIT_BAD_INPUT, BadInputError, ConfigError
from orchestrator.providers.anthropic import AnthropicProvider
from orchestrator.providers.registry import available_providers, create_provider, provider_names
from orchestrator.providers.sim import SimProvider

PLUGIN = """
from orchestrator.providers.base import CallRequest, CallResult, Provider


class EchoProvider(Provider):
    name = "echo"

    def __init__(self, greeting: str = "hi") -> None:
        self.greeting = greeting

    async def call(self, request: CallRequest) -> CallResult:
        raise NotImplementedError
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed third-party package declaring providers, as pip would leave it."""
    (tmp_path / "echo_plugin.py").write_text(PLUGIN)
    info = tmp_path / "echo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[orchestrator.providers]\n"
        "echo = echo_plugin:EchoProvider\n"
        "broken = echo_plugin_missing:Nothing\n"
        "notaprovider = echo_plugin:CallRequest\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("echo_plugin", None)


def test_built_ins_come_from_entry_points() -> None:
    providers = available_providers()
    assert providers["anthropic"] is AnthropicProvider and providers["sim"] is SimProvider
    assert {"anthropic", "sim"} <= set(provider_names())


def test_a_third_party_plugin_joins_the_same_way(plugin: Path) -> None:
    assert {"echo", "broken", "notaprovider"} <= set(provider_names())
    with pytest.warns(UserWarning) as warned:
        providers = available_providers()
    messages = " ".join(str(w.message) for w in warned)
    assert "'broken'" in messages and "'notaprovider'" in messages
    assert providers["echo"].__name__ == "EchoProvider" and "broken" not in providers
    made = create_provider("echo", env={}, greeting="hello")
    assert type(made).__name__ == "EchoProvider" and made.greeting == "hello"  # type: ignore[attr-defined]


def test_a_broken_plugin_fails_only_when_chosen(plugin: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be loaded"):
        create_provider("broken", env={})
    with pytest.raises(ConfigError, match="not a Provider"):
        create_provider("notaprovider", env={})
    assert isinstance(create_provider("sim", env={}), SimProvider)


def test_no_name_and_a_key_means_anthropic() -> None:
    provider = create_provider(None, env={"ANTHROPIC_API_KEY": "sk-test"})
    assert isinstance(provider, AnthropicProvider)
    token = create_provider(None, env={"ANTHROPIC_AUTH_TOKEN": "tok"})
    assert isinstance(token, AnthropicProvider)


def test_no_name_and_no_key_lists_the_three_ways_forward() -> None:
    with pytest.raises(BadInputError) as caught:
        create_provider(None, env={})
    err = caught.value
    text = err.render()
    assert err.exit_code == EXIT_BAD_INPUT
    assert "ANTHROPIC_API_KEY" in text
    assert "--provider NAME" in text and "available: anthropic, " in text and ", sim)" in text
    assert "--provider sim" in text


def test_an_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(BadInputError) as caught:
        create_provider("openai", env={})
    assert "unknown provider 'openai'" in caught.value.message
    assert "anthropic" in caught.value.render() and "sim" in caught.value.render()


def test_the_anthropic_provider_reads_its_settings_from_env() -> None:
    provider = create_provider(
        "anthropic", env={"ANTHROPIC_API_KEY": "sk-x", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    )
    assert isinstance(provider, AnthropicProvider)
    assert provider.base_url.startswith("http://127.0.0.1:9")


def test_the_anthropic_provider_without_any_key_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="API key"):
        create_provider("anthropic", env={})


def test_importing_the_provider_modules_does_not_import_the_sdk() -> None:
    import subprocess

    code = (
        "import sys, orchestrator.providers.registry as r, orchestrator.providers.anthropic, "
        "orchestrator.providers.sim; r.available_providers(); "
        "print('anthropic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
