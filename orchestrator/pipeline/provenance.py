"""Which provider a batch's responses came from, and whether this command may add to them.

Each response records its provider (``response.json`` and its ledger line).
A command resolves its own provider (``--provider``, then the environment)
and never inherits one from an earlier run; when the batch already holds
responses from another provider, keeping them beside this command's would
mix a rehearsal (``sim``) with real work, or one backend's text with
another's, so the command stops before writing anything (exit 2) and says
which responses would be kept and how to go on.

``anthropic`` and ``anthropic-batch`` are one source: the same API and
models, a Message Batch only priced differently. Responses recorded before
providers were (no ``provider`` field) are not held against any provider.
"""

from __future__ import annotations

from orchestrator.errors import BadInputError
from orchestrator.pipeline.context import Context
from orchestrator.pipeline.store.usage import UsageBook

SIMULATOR = "sim"
#: providers that are one source of responses (same API, same models)
_SAME_SOURCE = {"anthropic-batch": "anthropic"}
_SHOWN = 5


def same_source(a: str, b: str) -> bool:
    return _SAME_SOURCE.get(a, a) == _SAME_SOURCE.get(b, b)


def simulated(provider: str | None) -> bool:
    """Whether ``provider`` is the local simulator (its text and costs are not real)."""
    return provider == SIMULATOR


def response_providers(ctx: Context, book: UsageBook) -> dict[str, list[str]]:
    """Provider -> items whose response (on disk, or restorable from the ledger) came from it."""
    found: dict[str, list[str]] = {}
    for files in ctx.items():
        meta = ctx.store.load(files).response_meta
        name = meta.provider if meta is not None else None
        if meta is None and files.id in book.responses:
            name = book.responses[files.id].provider
        if isinstance(name, str):
            found.setdefault(name, []).append(files.id)
    return found


def _items_text(items: list[str]) -> str:
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def refuse_mixed_providers(ctx: Context, book: UsageBook, provider: str, rerun: str, clean: str) -> None:
    """Bad input (nothing written) when the batch holds responses from a provider other than ``provider``.

    ``rerun`` is this command without ``--provider``; ``clean`` the command
    that removes the batch's responses.
    """
    other = {name: items for name, items in response_providers(ctx, book).items() if not same_source(name, provider)}
    if not other:
        return
    kinds = "; ".join(
        f"{len(items)} from {name}{' (simulated)' if simulated(name) else ''}: {_items_text(items)}"
        for name, items in sorted(other.items())
    )
    first = sorted(other)[0]
    go_on = "continue the rehearsal" if simulated(first) else f"continue with {first}"
    raise BadInputError(
        f"batch {ctx.batch.id!r} holds responses from another provider than this command's {provider!r} "
        f"({kinds}); they would be kept beside {provider}'s as this batch's results: nothing was written",
        hint=(
            f"to {go_on}: `{rerun} --provider {first}`;\n"
            f"    to start over with {provider}: `{clean}`, then run again"
        ),
    )


def provider_hint(ctx: Context, book: UsageBook, rerun: str) -> str | None:
    """When no provider can be chosen: which one the batch's responses came from, to name it again."""
    found = response_providers(ctx, book)
    if not found:
        return None
    name = max(found, key=lambda n: len(found[n]))
    what = "continue the rehearsal" if simulated(name) else "continue"
    return (
        f"this batch's responses came from {name}: to {what}, name it again: `{rerun} --provider {name}` "
        "(a batch does not remember its provider)"
    )
