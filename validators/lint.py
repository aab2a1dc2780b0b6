"""``lint.command``: run the plan's linter on the output, only for a trusted plan.

The command comes from the plan ("Linter passes: CMD <filepath>"), so a plan
from a stranger must not be able to run anything by being validated: unless
the user trusts the plan (``--trust-plan`` or ``ORCHESTRATE_TRUST_PLAN=1``)
the check is reported as skipped, with the reason. When it runs, it runs as
an argument list (never through a shell), in the plan's folder, with stdin
closed and a time limit.

Before the file is written (``final=False``, the dispatcher's repair loop)
the content is linted as a hidden temporary file in the output's own folder,
so the linter's folder-level configuration applies; it is removed afterwards.

A linter that cannot run (not installed, could not start, killed, out of
time) is an *environment* failure, not a verdict on the document: the model
is never asked to repair it. :func:`lint_preflight` finds a missing linter
before any money is spent.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orchestrator.validators.document import Document
from orchestrator.validators.expectations import Expectations, LintCommand
from orchestrator.validators.registry import BaseValidator, CheckContext
from orchestrator.validators.results import CheckResult, environment_failed, failed, passed, skipped

TRUST_ENV = "ORCHESTRATE_TRUST_PLAN"
_MAX_OUTPUT_LINES = 20
#: exit statuses a shell or wrapper (npx, env) gives when the tool itself could not run
_COULD_NOT_RUN = {126: "is not executable", 127: "was not found"}
#: how to install the linters plans usually name
_INSTALL_HINTS = {
    "pymarkdown": "install the [lint] extra: pip install 'plan-orchestrator[lint]' (the pymarkdownlnt package)",
    "pymarkdownlnt": "install the [lint] extra: pip install 'plan-orchestrator[lint]' (the pymarkdownlnt package)",
    "markdownlint-cli2": "install it with npm: npm install -g markdownlint-cli2",
    "markdownlint": "install it with npm: npm install -g markdownlint-cli",
    "npx": "install Node.js and npm (npx comes with npm)",
}


def install_hint(program: str) -> str:
    """How to get ``program`` onto PATH, for the linters plans usually name."""
    name = Path(program).name
    return _INSTALL_HINTS.get(name, f"install `{name}`, or put the folder that holds it on PATH")


@dataclass(frozen=True)
class LintProblem:
    """A trusted lint command that cannot run on this machine."""

    command: str  # as the plan writes it
    program: str  # argv[0]
    reason: str  # e.g. "was not found on PATH"
    where: str  # the rule that asks for it, e.g. "Validation Checklist (plan line 23)"
    hint: str

    def render(self) -> str:
        return f"linter executable '{self.program}' {self.reason} ({self.where}: {self.command})"


def lint_preflight(expectations: Expectations, base_dir: Path) -> list[LintProblem]:
    """Every lint command of the plan whose program does not resolve (``shutil.which``).

    Pure apart from looking at PATH and the plan's folder: nothing is run.
    Call it for a trusted plan before the first paid call.
    """
    unique = {rule.command: rule for rule in expectations.of(LintCommand)}
    problems: list[LintProblem] = []
    for rule in unique.values():
        if not rule.argv:
            continue
        missing = _missing_executable(rule.argv[0], base_dir)
        if missing:
            problems.append(
                LintProblem(rule.command, rule.argv[0], missing, rule.source.describe(), install_hint(rule.argv[0]))
            )
    return problems


class LintCommandCheck(BaseValidator):
    name = "lint.command"
    consumes = (LintCommand,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        unique = {rule.command: rule for rule in ctx.expectations.of(LintCommand)}
        return [self._one(rule, doc, ctx) for rule in unique.values()]

    def _one(self, rule: LintCommand, doc: Document, ctx: CheckContext) -> CheckResult:
        if not ctx.trust_plan:
            return skipped(
                self.name,
                f"the plan's linter `{rule.command}` runs only for a trusted plan: "
                f"pass --trust-plan or set {TRUST_ENV}=1",
            )
        if ctx.final:
            return self._run(rule, ctx.path, ctx)
        with _staged(doc.source, ctx.path) as staged:
            return self._run(rule, staged, ctx)

    def _run(self, rule: LintCommand, target: Path, ctx: CheckContext) -> CheckResult:
        argv = [arg.replace(rule.placeholder, str(target)) for arg in rule.argv]
        missing = _missing_executable(argv[0], ctx.base_dir)
        if missing:
            return environment_failed(
                self.name,
                f"linter executable '{argv[0]}' {missing} ({rule.source.describe()}: {rule.command}); "
                f"{install_hint(argv[0])}",
            )
        try:
            done = _run_bounded(argv, ctx.base_dir, ctx.lint_timeout)
        except subprocess.TimeoutExpired:
            return environment_failed(
                self.name,
                f"linter `{rule.command}` did not finish within {ctx.lint_timeout:g} s "
                "(run it by hand to see why; `orchestrate validate --lint-timeout` sets the limit)",
            )
        except OSError as exc:
            return environment_failed(self.name, f"linter '{argv[0]}' could not be started: {exc.strerror or exc}")
        output = (done.stdout + done.stderr).replace(str(target), str(ctx.path)).strip()
        if done.returncode == 0:
            return passed(self.name, f"`{rule.command}` exited 0")
        if done.returncode < 0 or done.returncode in _COULD_NOT_RUN:
            return environment_failed(self.name, _crash_message(rule.command, argv[0], done.returncode, output))
        return failed(
            self.name,
            f"linter `{rule.command}` exited {done.returncode}:\n{_trim(output)}",
            _first_line_number(output, ctx.path),
        )


def _crash_message(command: str, program: str, code: int, output: str) -> str:
    """A linter killed by a signal, or a wrapper that could not start the tool: no verdict."""
    if code < 0:
        why = f"was killed by signal {-code}"
    else:
        why = f"exited {code}: the tool {_COULD_NOT_RUN[code]} ({install_hint(program)})"
    return f"linter `{command}` {why}, so it gave no verdict on the file:\n{_trim(output)}"


def _run_bounded(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (no shell) in its own process group, killed whole when the time is up."""
    with subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the linter and anything it started (``npx`` and friends spawn children)."""
    killpg = getattr(os, "killpg", None)
    try:
        if killpg is None:
            proc.kill()
        else:
            killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _missing_executable(program: str, base_dir: Path) -> str | None:
    """Why ``program`` cannot run, or ``None`` if it can be found."""
    if os.sep in program or (os.altsep and os.altsep in program):
        path = base_dir / program
        return None if path.is_file() else f"does not exist (looked for {path})"
    return None if shutil.which(program) else "was not found on PATH"


@contextmanager
def _staged(content: str, path: Path) -> Iterator[Path]:
    """A temporary copy of ``content`` beside ``path`` (or in a temporary folder if it has none)."""
    if path.parent.is_dir():
        handle, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".md", dir=path.parent)
        staged = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(content)
            yield staged
        finally:
            staged.unlink(missing_ok=True)
        return
    with tempfile.TemporaryDirectory(prefix="orchestrate-lint-") as folder:
        staged = Path(folder) / path.name
        staged.write_text(content, encoding="utf-8", newline="")
        yield staged


def _trim(output: str) -> str:
    lines = output.splitlines() or ["(no output)"]
    kept = lines[:_MAX_OUTPUT_LINES]
    if len(lines) > len(kept):
        kept.append(f"… {len(lines) - len(kept)} more line(s)")
    return "\n".join(kept)[:4000]


def _first_line_number(output: str, path: Path) -> int | None:
    match = re.search(re.escape(str(path)) + r":(\d+)", output)
    return int(match.group(1)) if match else None


def trusted_by_env() -> bool:
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")
