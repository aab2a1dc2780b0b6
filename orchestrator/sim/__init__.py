"""A local Anthropic API simulator: the real SDK talks to it through ``base_url``.

Used by tests and by people rehearsing a plan at no cost. Importing this
package starts nothing; see :class:`orchestrator.sim.server.SimServer` and
``docs/simulator.md``.
"""
