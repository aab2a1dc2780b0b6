"""Every hostile input of the corpus, through every command that reads it, fails fast and cleanly.

For each case and command: the exit code and message fragment the corpus
expects, within the time limit and under the memory cap (see
:mod:`hardkit`), no traceback, a ``hint:`` for bad input, and nothing written
(the whole project tree, FIFOs and devices included, is compared by
``lstat``). These are the inputs that hung, exploded or crashed in issue 13.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hardkit import copy_template, make_template, orchestrate, problems
from hostile_corpus import CASES, KNOWN_GAPS, Case, make_shared_files


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("hostile") / "project")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-shared")
    make_shared_files(folder)
    return folder


def test_the_corpus_is_large_and_each_case_expects_something() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    assert all(case.expect for case in CASES)
    assert sum(len(case.expect) for case in CASES) >= 300


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input(case: Case, template: Path, shared: Path, tmp_path: Path) -> None:
    root = copy_template(template, tmp_path / "project")
    case.setup(root, shared)
    commands = case.commands()
    # readers write nothing, so they can share the folder; a command that writes runs alone, last
    readers = [c for c in commands if c[0] not in ("run", "record")]
    writers = [c for c in commands if c[0] in ("run", "record")]
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda c: (c, orchestrate(root, c[1], case.env)), readers))
    outcomes += [(c, orchestrate(root, c[1], case.env)) for c in writers]
    failures = []
    for (name, args, code, fragment), outcome in outcomes:
        found = problems(outcome, code, fragment)
        gap = KNOWN_GAPS.get((case.id, name))
        if gap is not None and not found:
            failures.append(f"orchestrate {' '.join(args)} now passes: remove it from KNOWN_GAPS ({gap})")
        elif gap is None and found:
            failures.append(f"orchestrate {' '.join(args)}: {'; '.join(found)}\n{outcome.text[-800:]}")
    assert not failures, "\n\n".join(failures)
    assert not (root / "pwned").exists() and not (root / "plans" / "pwned").exists()
