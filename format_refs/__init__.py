"""Example format references, installed as ``orchestrator.examples.format_refs`` (see setup.py)."""
