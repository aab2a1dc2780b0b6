"""``orchestrate sim serve``: run the simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import click

from orchestrator.sim.config import ENV_VAR, SimConfig


@click.group("sim")
def sim_group() -> None:
    """Run the local Anthropic API simulator (no network, no cost).

    \b
    Example:
      ORCHESTRATE_SIM="latency_ms=200,p429=0.1" orchestrate sim serve --port 8765
    """


@sim_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port (0 picks a free one).")
@click.option(
    "--config",
    "config_text",
    default=None,
    metavar="TEXT",
    help=f"Settings such as 'seed=7,latency_ms=200,p429=0.1' (replaces ${ENV_VAR}).",
)
def serve_cmd(host: str, port: int, config_text: str | None) -> None:
    """Serve the simulator; the first line printed is its base URL.

    \b
    Example:
      orchestrate sim serve --port 8765 --config "seed=7,latency_ms=200,pbad_enum=0.2"
      ANTHROPIC_BASE_URL=http://127.0.0.1:8765 ANTHROPIC_API_KEY=sk-sim python my_script.py
    """
    from orchestrator.sim.server import serve_forever

    try:
        config = SimConfig.from_env(config_text)
    except ValueError as exc:
        hint = "--config" if config_text else ENV_VAR
        raise click.BadParameter(str(exc), param_hint=hint) from None

    def ready(url: str) -> None:
        click.echo(url)
        click.echo(f"export ANTHROPIC_BASE_URL={url}  # Ctrl-C stops the simulator", err=True)

    serve_forever(config, host, port, on_ready=ready)
