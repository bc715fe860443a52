"""A pytest plugin: `pytest --optverify PATH ...` runs claims as test items, one per claim.

Registered under the `pytest11` entry point, so it is active wherever optverify is installed;
without `--optverify` it does nothing. With it, every `.py` file under the given paths that
assigns a module-level `CLAIM` (found from its syntax tree, without importing it) becomes one test
item, and `--optverify-claim ID` adds a built-in or entry-point claim by id. An item runs its
claim in this process (quick unless `--optverify-full`, seed `--optverify-seed`, on the CPU) and
passes when the claim is consistent; otherwise it fails with the decisive checks that disagree
(`optverify.testing.decisive_report`). `--optverify-out DIR` writes each claim's report and the
summary (Markdown, JSON, HTML) to DIR, as `verify run` would.

The heavy modules (torch, sympy) are imported when the first item runs, not when pytest starts.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

_SKIPPED_FILES = ("conftest.py", "__init__.py", "setup.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("optverify", "optverify: claims as test items")
    group.addoption("--optverify", action="store_true",
                    help="collect claim files (.py files that define CLAIM) as test items")
    group.addoption("--optverify-claim", action="append", default=[], metavar="ID",
                    help="also run this built-in or entry-point claim (repeatable)")
    group.addoption("--optverify-full", action="store_true",
                    help="run the claims' full sweeps (default: quick)")
    group.addoption("--optverify-seed", type=int, default=0, metavar="N",
                    help="master seed (default 0)")
    group.addoption("--optverify-out", type=Path, default=None, metavar="DIR",
                    help="write the claims' reports and summary to DIR")


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--optverify") or config.getoption("--optverify-claim"))


def defines_claim(path: Path) -> bool:
    """Whether a Python file assigns a module-level `CLAIM` (read, not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return True  # collected, so that running it reports the problem
    return any(isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
        isinstance(target, ast.Name) and target.id == "CLAIM"
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target]))
        for node in tree.body)


class ClaimNotConsistent(Exception):
    """A claim whose verdict is not consistent; its message is the decisive report."""


class ClaimFile(pytest.File):
    """A claim file: one item, named after the file."""

    def collect(self):
        yield ClaimItem.from_parent(self, name=self.path.stem, spec=str(self.path))


class ClaimItem(pytest.Item):
    """One claim, run and judged: passes when consistent."""

    def __init__(self, *, spec: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def runtest(self) -> None:
        from optverify.testing import decisive_report, quick_run
        from optverify.verify.discovery import DiscoveryError

        config = self.config
        try:
            result = quick_run(self.spec, quick=not config.getoption("--optverify-full"),
                               seed=config.getoption("--optverify-seed"))
        except DiscoveryError as error:
            raise ClaimNotConsistent(f"cannot load the claim: {error}") from error
        config.stash[_RESULTS].append(result)
        out = config.getoption("--optverify-out")
        if out is not None:
            from optverify.verify.report import write_claim_report

            write_claim_report(result, out)
        self.user_properties.append(("verdict", result.verdict.value))
        if result.verdict.value != "consistent":
            raise ClaimNotConsistent(decisive_report(result))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimNotConsistent):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"optverify claim {self.spec}"


_RESULTS = pytest.StashKey[list]()
_STARTED = pytest.StashKey[float]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS] = []
    config.stash[_STARTED] = time.perf_counter()


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if (not parent.config.getoption("--optverify") or file_path.suffix != ".py"
            or file_path.name in _SKIPPED_FILES or not defines_claim(file_path)):
        return None
    return ClaimFile.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Items for the claims named by id, after the files' items."""
    items.extend(ClaimItem.from_parent(session, name=claim_id, spec=claim_id)
                 for claim_id in config.getoption("--optverify-claim"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With `--optverify-out`: the summary of the claims that ran (Markdown, JSON, HTML)."""
    config = session.config
    out = config.getoption("--optverify-out", default=None)
    results = config.stash.get(_RESULTS, [])
    if out is None or not _enabled(config) or not results:
        return
    from optverify.config import RunConfig
    from optverify.verify.report import write_summary
    from optverify.results import RunResult

    run_config = RunConfig(seed=config.getoption("--optverify-seed"),
                           quick=not config.getoption("--optverify-full"))
    write_summary(RunResult(run_config, tuple(results),
                            time.perf_counter() - config.stash[_STARTED]), out)
