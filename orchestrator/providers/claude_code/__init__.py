"""The ``claude-code`` provider: each row run by its own headless Claude Code agent.

:func:`~orchestrator.providers.claude_code.request.agent_metadata` builds the
metadata a row's ``CallRequest`` needs; :class:`ClaudeCodeProvider` runs it.
"""

from orchestrator.providers.claude_code.provider import ClaudeCodeProvider
from orchestrator.providers.claude_code.request import agent_metadata

__all__ = ["ClaudeCodeProvider", "agent_metadata"]
