"""Example plans, installed as package data of ``orchestrator.examples.plans`` (see setup.py)."""
