"""The model table: aliases, ids, prices, user overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ConfigError, ModelNotFoundError
from orchestrator.models import Usage, load_model_table


def test_aliases_and_ids_resolve_to_the_same_model() -> None:
    table = load_model_table()
    assert table.resolve("haiku").id == "claude-haiku-5-5"
    assert table.resolve("claude-haiku-5-5") is table.resolve("HAIKU")
    assert table.prices_as_of == "2026-11-01"


def test_unknown_model_names_the_fix() -> None:
    with pytest.raises(ModelNotFoundError) as err:
        load_model_table().resolve("gpt-9")
    assert "orchestrate.toml" in (err.value.hint or "")
    assert "haiku" in (err.value.hint or "")


def test_cost_counts_every_token_kind_and_the_batch_discount() -> None:
    haiku = load_model_table().resolve("haiku")
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_creation_input_tokens=1_000_000,
                  cache_read_input_tokens=1_000_000)
    assert haiku.cost(usage) == pytest.approx(0.10 + 0.50 + 0.125 + 0.01)
    assert haiku.cost(usage, batch=True) == pytest.approx((0.10 + 0.50 + 0.125 + 0.01) / 2)


def test_plan_folder_and_env_overrides_layer_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "orchestrate.toml").write_text(
        '[models.haiku]\ninput = 0.08\n[models.house]\nid = "claude-sonnet-5-5"\ninput = 1\noutput = 3\n'
    )
    env_file = tmp_path / "env.toml"
    env_file.write_text("[models.haiku]\ninput = 0.07\n[prices]\nas_of = '2027-01-01'\n")
    table = load_model_table(tmp_path)
    assert table.resolve("haiku").input == 0.08
    assert table.resolve("haiku").output == 0.50  # untouched keys survive
    assert table.resolve("house").cache_read == pytest.approx(0.1)
    monkeypatch.setenv("ORCHESTRATE_MODELS", str(env_file))
    table = load_model_table(tmp_path)
    assert table.resolve("haiku").input == 0.07
    assert table.prices_as_of == "2027-01-01"


def test_malformed_override_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "orchestrate.toml").write_text("[models.x]\ninput = 'cheap'\noutput = 1\n")
    with pytest.raises(ConfigError) as err:
        load_model_table(tmp_path)
    assert err.value.exit_code == 2
    (tmp_path / "orchestrate.toml").write_text("[models.x\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_model_table(tmp_path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[models]\nfoo = 3\n", "model 'foo' must be a table"),
        ("models = 3\n", "`models` must be a table"),
        ("prices = 'x'\n", "`prices` must be a table"),
        ("[models.foo]\noutput = 1\n", "no 'input' price"),
    ],
)
def test_misshapen_override_is_bad_input_not_a_crash(tmp_path: Path, toml: str, expected: str) -> None:
    (tmp_path / "orchestrate.toml").write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_model_table(tmp_path)
    assert expected in err.value.message
    assert err.value.path == str(tmp_path / "orchestrate.toml")
    assert err.value.hint


def test_a_malformed_model_names_the_file_that_defined_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "orchestrate.toml").write_text("[models.bad]\ninput = 'cheap'\noutput = 1\n")
    env_file = tmp_path / "env.toml"
    env_file.write_text("[models.haiku]\ninput = 0.07\n")
    monkeypatch.setenv("ORCHESTRATE_MODELS", str(env_file))
    with pytest.raises(ConfigError) as err:
        load_model_table(tmp_path)
    assert err.value.path == str(tmp_path / "orchestrate.toml")


def test_orchestrate_models_naming_a_missing_file_is_refused(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATE_MODELS", str(tmp_path / "typo.toml"))
    with pytest.raises(ConfigError, match="does not exist") as err:
        load_model_table(tmp_path)
    assert err.value.exit_code == 2


def test_unreadable_override_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "orchestrate.toml").write_bytes(b"\xff\xfe[models]")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_model_table(tmp_path)
