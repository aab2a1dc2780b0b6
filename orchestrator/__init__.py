"""plan-orchestrator: run a markdown plan of LLM document-generation tasks.

Importing the package does nothing but define the version: every command
imports what it needs when it runs.
"""

__version__ = "0.1.0"
