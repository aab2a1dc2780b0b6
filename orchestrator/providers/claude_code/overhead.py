"""What one row costs in tokens when a Claude Code agent writes it, for the estimate (pure).

An agent row is three model requests, each re-sending the whole
conversation: (1) the fixed prefix (tool definitions, system prompt, a date
reminder) and the row's prompt, answered by a Read call; (2) that plus the
reference as the Read tool lists it (line-numbered), answered by a Write call
holding the document; (3) that plus the Write call and its result, answered
by a one-line reply. Claude Code marks the prefix and the newest message for
caching, so after the first row the fixed prefix is read from the cache and
each turn writes only what it added.

The constants were measured on the simulator (4 characters per token) with
the glossary example plan, by ``python bench/bench_claude_code.py``:
the API provider bills 673 tokens per row (450 in, 223 out, nothing cacheable
at that size); the agent bills 5,275 (43 fresh, 1,113 cache writes, 3,814
cache reads, 305 out), so the overhead is about 4,600 tokens per row, 80 of
them output. Claude Code's own default prompt and tools would add about
28,700 tokens per request (the issue's measurement) instead of the 1,162 here.
"""

from __future__ import annotations

from orchestrator.models import Usage

#: Tokens every request of an agent starts with: Read and Write tool definitions (931),
#: system blocks (151: Claude Code's billing line and preamble, our system prompt), date reminder (80).
FIXED_PREFIX_TOKENS = 1162
#: Model requests per row: Read, Write, reply.
REQUESTS_PER_ROW = 3
#: Tokens of the agent's own prompt (DISPATCH prompt and the two absolute paths) when not known.
DEFAULT_PROMPT_TOKENS = 150
_FRESH_PER_REQUEST = 15  # uncached tail: the CLI's budget note after the newest mark
_READ_CALL = 36  # the Read tool call
_WRITE_FRAME = 47  # the Write call around the document (JSON-escaped newlines, its path)
_WRITE_RESULT = 57  # "File created successfully at ..."
_LISTING_FACTOR = 1.2  # the Read tool's line numbers
_OUTPUT_EXTRA = 80  # Read call, Write framing and the reply, beyond the document


def agent_row_usage(reference_tokens: int, output_tokens: int, prompt_tokens: int = DEFAULT_PROMPT_TOKENS) -> Usage:
    """Tokens one row's agent bills once the shared prefix is cached (every row after the first).

    The estimate uses this *instead of* the API request's usage for a
    ``claude-code`` row; the first row also writes :data:`FIXED_PREFIX_TOKENS`
    to the cache once.
    """
    listing = round(reference_tokens * _LISTING_FACTOR)
    tails = b = _FRESH_PER_REQUEST
    written = (prompt_tokens + b) + (_READ_CALL + listing + b) + (output_tokens + _WRITE_FRAME + _WRITE_RESULT + b)
    read = REQUESTS_PER_ROW * FIXED_PREFIX_TOKENS + 2 * prompt_tokens + _READ_CALL + listing
    return Usage(
        input_tokens=REQUESTS_PER_ROW * tails,
        output_tokens=output_tokens + _OUTPUT_EXTRA,
        cache_creation_input_tokens=written,
        cache_read_input_tokens=read,
    )


def agent_overhead(reference_tokens: int, output_tokens: int, api_input_tokens: int) -> Usage:
    """What to add to the API estimate of a row (``api_input_tokens`` in, ``output_tokens`` out) for an agent.

    Fields may be negative: the agent's input is mostly cache reads and
    writes where the API request's was fresh input.
    """
    agent = agent_row_usage(reference_tokens, output_tokens)
    return Usage(
        agent.input_tokens - api_input_tokens,
        agent.output_tokens - output_tokens,
        agent.cache_creation_input_tokens,
        agent.cache_read_input_tokens,
    )
