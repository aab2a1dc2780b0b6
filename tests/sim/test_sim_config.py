"""ORCHESTRATE_SIM parsing."""

from __future__ import annotations

import pytest

from orchestrator.sim.config import SimConfig


def test_parses_every_documented_example_key() -> None:
    cfg = SimConfig.from_env(
        "seed=7,latency_ms=200,jitter_ms=50,rpm=600,tpm=400000,p429=0.1,p529=0.05,p500=0.02,"
        "pdisconnect=0.01,pbad_enum=0.2,pmissing_section=0.1,pfenced=0.1,ptruncated=0.05"
    )
    assert (cfg.seed, cfg.latency_ms, cfg.jitter_ms, cfg.rpm, cfg.tpm) == (7, 200, 50, 600, 400000)
    assert (cfg.p429, cfg.p529, cfg.p500, cfg.pdisconnect) == (0.1, 0.05, 0.02, 0.01)
    assert (cfg.pbad_enum, cfg.pmissing_section, cfg.pfenced, cfg.ptruncated) == (
        0.2,
        0.1,
        0.1,
        0.05,
    )


def test_extra_keys_and_defaults() -> None:
    cfg = SimConfig.from_env(" key=sk-abc , batch_delay_ms=10,cache_min_tokens=5,chars_per_token=3.5 ")
    assert cfg.key == "sk-abc"
    assert cfg.batch_delay_ms == 10 and cfg.cache_min_tokens == 5 and cfg.chars_per_token == 3.5
    default = SimConfig.from_env("")
    assert default == SimConfig()
    assert (default.batch_delay_ms, default.cache_min_tokens, default.cache_ttl_s) == (
        500,
        1024,
        300,
    )
    assert default.chars_per_token == 4 and default.key is None and default.rpm == 0


def test_reads_the_environment_when_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATE_SIM", "seed=3,p500=1")
    assert SimConfig.from_env() == SimConfig(seed=3, p500=1.0)
    monkeypatch.delenv("ORCHESTRATE_SIM")
    assert SimConfig.from_env() == SimConfig()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("sead=7", "sead"),
        ("latency_ms=fast", "latency_ms"),
        ("p429=1.5", "p429"),
        ("rpm=-1", "rpm"),
        ("seed=1,seed=2", "seed"),
        ("pfenced", "pfenced"),
        ("chars_per_token=0", "chars_per_token"),
    ],
)
def test_bad_input_names_the_key(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        SimConfig.from_env(text)


def test_programmatic_config_is_validated_too() -> None:
    with pytest.raises(ValueError, match="pbad_enum"):
        SimConfig(pbad_enum=2.0)
    assert SimConfig(seed=1).replace(p429=1.0).p429 == 1.0
