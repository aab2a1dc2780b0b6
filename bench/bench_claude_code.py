"""Measure the claude-code provider's per-row token overhead against the API provider, side by side.

Run from the repository root (needs the claude CLI: ``npm install --prefix
.claude-runtime @anthropic-ai/claude-code``)::

    python bench/bench_claude_code.py            # the example glossary plan, phase 1 (5 rows)

Both providers answer the same rows from the same simulator (a fresh one
each, so neither reads the other's cache): the ``anthropic`` provider with
the request the prompt builder makes, and the ``claude-code`` provider with a
real headless agent (Read, then Write, then a short reply: three model
turns). It prints each one's mean billed tokens per row (input split as
fresh / cache write / cache read, then output), the difference (the agent's
overhead), the ratio of total tokens, the figure
:func:`orchestrator.providers.claude_code.overhead.agent_overhead` predicts
for the same rows, and the agent's mean start-up time.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "claude_code"))

from cckit import CatchAllProxy, Demo, loopback_env, make_demo  # noqa: E402

from orchestrator.models import Usage, load_model_table  # noqa: E402
from orchestrator.prompts import build_request  # noqa: E402
from orchestrator.providers.anthropic import AnthropicProvider  # noqa: E402
from orchestrator.providers.base import CallRequest, CallResult, Turn  # noqa: E402
from orchestrator.providers.claude_code import ClaudeCodeProvider  # noqa: E402
from orchestrator.providers.claude_code.overhead import agent_overhead  # noqa: E402
from orchestrator.providers.claude_code.runtime import find_cli  # noqa: E402
from orchestrator.sim.config import SimConfig  # noqa: E402
from orchestrator.sim.server import SimServer  # noqa: E402
from orchestrator.sim.tokens import count_text  # noqa: E402

MODEL = "claude-haiku-5-5"


async def api_rows(demo: Demo) -> list[CallResult]:
    plan = demo.plan()
    reference = (plan.format_reference_path() or Path()).read_text(encoding="utf-8")
    with SimServer(SimConfig(seed=7)) as sim:
        provider = AnthropicProvider(api_key="sk-sim", base_url=sim.url)
        results = []
        for row in demo.rows():
            req = build_request(plan, row, reference)
            call = CallRequest(MODEL, req.system, req.shared, (Turn("user", req.row),), 4000)
            results.append(await provider.call(call))
        await provider.aclose()
    return results


async def agent_rows(demo: Demo, home: Path) -> list[CallResult]:
    cli = find_cli({"PATH": ""}, cwd=REPO)
    with SimServer(SimConfig(seed=7)) as sim, CatchAllProxy() as proxy:
        provider = ClaudeCodeProvider.create(loopback_env(home, sim.url, proxy.url, cli))
        results = [await provider.call(demo.request(row)) for row in demo.rows()]
        await provider.aclose()
    return results


def mean(results: list[CallResult]) -> Usage:
    total = sum((r.usage for r in results), Usage())
    n = len(results)
    return Usage(*(round(v / n) for v in total.as_dict().values()))


def show(label: str, u: Usage) -> str:
    return (f"{label:<28} fresh {u.input_tokens:>6,}  cache write {u.cache_creation_input_tokens:>6,}  "
            f"cache read {u.cache_read_input_tokens:>6,}  output {u.output_tokens:>5,}  total {u.total:>6,}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        api = await api_rows(make_demo(root / "api"))
        demo = make_demo(root / "agent")
        agent = await agent_rows(demo, root / "home")
        reference = (demo.plan().format_reference_path() or Path()).read_text(encoding="utf-8")
        shutil.rmtree(root / "home", ignore_errors=True)
    a, g = mean(api), mean(agent)
    diff = Usage(*(y - x for x, y in zip(a.as_dict().values(), g.as_dict().values(), strict=True)))
    out_tokens = round(statistics.mean(r.usage.output_tokens for r in api))
    predicted = agent_overhead(count_text(reference, 4.0), out_tokens, a.total_input)
    print(f"{len(api)} rows of plans/glossary.md phase 1, mean per row (simulator, 4 characters per token):")
    print(show("anthropic provider", a))
    print(show("claude-code provider", g))
    print(show("overhead (measured)", diff))
    print(show("overhead (agent_overhead())", predicted))
    print(f"total tokens ratio, claude-code / anthropic: {g.total / a.total:.2f}x")
    price = load_model_table().resolve("haiku")
    print(f"cost ratio at {price.id} prices, claude-code / anthropic: {price.cost(g) / price.cost(a):.2f}x "
          f"(${price.cost(a) * 1000:.2f} vs ${price.cost(g) * 1000:.2f} per 1,000 rows)")
    startups = [r.startup_s for r in agent if r.startup_s is not None]
    print(f"agent start-up (spawn to first event): mean {statistics.mean(startups):.2f} s, "
          f"max {max(startups):.2f} s; turns per row: {sorted({r.num_turns for r in agent})}")


if __name__ == "__main__":
    asyncio.run(main())
