"""What the agent did to the disk: its output file, and any file it should not have written.

Blocking file I/O: the provider calls these through ``asyncio.to_thread``.

The row's output file is the agent's *answer*, not the result: its text
becomes ``CallResult.text`` and the pipeline validates and writes it, exactly
as for an API answer. So after reading it, :meth:`OutputGuard.restore` puts
the path back as it was before the agent ran (absent, or the earlier bytes):
only the pipeline's own atomic write leaves a file in the Output Directory.

Any other file the agent wrote (a ``Write`` call to another path) is a stray
write: reported, and removed only when it lies in the Output Directory and
did not exist before the agent started. Other strays are left in place and
named, so the user decides.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Stray:
    """A file the agent wrote that is not the row's output."""

    path: Path
    removed: bool
    why_kept: str = ""

    def describe(self) -> str:
        return f"{self.path} (removed)" if self.removed else f"{self.path} ({self.why_kept}; left in place)"


@dataclass
class OutputGuard:
    """The state of the output path and the Output Directory before the agent ran."""

    output: Path
    output_dir: Path
    before: bytes | None = None  # the output file's bytes, None when absent
    existing: set[Path] = field(default_factory=set)  # paths in the Output Directory (relative)

    @classmethod
    def take(cls, output: Path, output_dir: Path) -> OutputGuard:
        guard = cls(output, output_dir)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            guard.before = output.read_bytes()
        guard.existing = _listing(output_dir)
        return guard

    def read(self, *, wrote: bool) -> str | None:
        """The output file's text as the agent left it (None: not written).

        ``wrote``: the event stream shows a write to the output path. Without
        one, an unchanged earlier file is not this agent's answer.
        """
        try:
            data = self.output.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None
        if data == self.before and not wrote:
            return None
        return data.decode("utf-8", "replace")

    def restore(self) -> None:
        """Put the output path back as it was before the agent ran."""
        if self.before is None:
            with contextlib.suppress(FileNotFoundError):
                self.output.unlink()
            return
        with contextlib.suppress(FileNotFoundError):
            if self.output.read_bytes() == self.before:
                return
        tmp = self.output.with_name(f".{self.output.name}.restore-{os.getpid()}")
        tmp.write_bytes(self.before)
        os.replace(tmp, self.output)

    def strays(self, written: list[str], cwd: Path) -> list[Stray]:
        """Handle every path in ``written`` other than the output: remove what the agent created.

        A path not on disk is not reported (the write was refused, or the
        file is already gone).
        """
        out = []
        seen: set[Path] = set()
        for raw in written:
            path = Path(os.path.realpath(cwd / raw))
            if path == Path(os.path.realpath(self.output)) or path in seen or not path.exists():
                continue
            seen.add(path)
            out.append(self._handle(path))
        return out

    def _handle(self, path: Path) -> Stray:
        out_dir = Path(os.path.realpath(self.output_dir))
        if not path.is_relative_to(out_dir):
            return Stray(path, False, "outside the Output Directory")
        if path.relative_to(out_dir) in self.existing:
            return Stray(path, False, "it existed before the agent ran")
        if path.is_dir():
            return Stray(path, False, "a folder")
        path.unlink()
        return Stray(path, True)


def _listing(folder: Path) -> set[Path]:
    """Every file and folder under ``folder``, relative to it."""
    found: set[Path] = set()
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        found.update(base / name for name in (*dirs, *files))
    return found
