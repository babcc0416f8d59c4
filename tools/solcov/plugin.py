"""pytest plugin: record Solidity coverage hits while the tests run.

Load it with ``-p solcov.plugin`` (``tools/`` on ``PYTHONPATH``); it does nothing unless
``PROCURECHAIN_COVERAGE`` names the folder for the hits (``make coverage`` sets both).
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from solcov import collect

ENV = "PROCURECHAIN_COVERAGE"
_KEY = pytest.StashKey[tuple[ExitStack, collect.Recorder, Path, float]]()


def pytest_configure(config: pytest.Config) -> None:
    folder = os.environ.get(ENV)
    if not folder:
        return
    stack = ExitStack()
    recorder = stack.enter_context(collect.recording())
    config.stash[_KEY] = (stack, recorder, Path(folder), time.monotonic())


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if _KEY in session.config.stash:
        collect.scan_all()  # before Ape stops its node


def pytest_unconfigure(config: pytest.Config) -> None:
    if _KEY not in config.stash:
        return
    stack, recorder, folder, started = config.stash[_KEY]
    stack.close()
    path = collect.write(recorder.hits, folder)
    elapsed = time.monotonic() - started
    print(
        f"\nsolcov: {recorder.hits.traces} traces, {recorder.hits.steps} steps in {elapsed:.0f} s"
        f" -> {path}"
    )
    for error in recorder.errors[:20]:
        print(f"solcov: {error}")
