"""``python -m orchestrator.sim [--port P] [--host H] [--config TEXT]``: serve the simulator.

For benchmarks that need the simulator in its own process: the first line on
stdout is the base URL, flushed as soon as the server listens.
"""

from orchestrator.sim.cli import serve_cmd

serve_cmd(prog_name="python -m orchestrator.sim")
