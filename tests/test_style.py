"""The code base passes its linters (part of the test command, so CI enforces it)."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import voicer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "voicer", "tests", "scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_types():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "voicer"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stages_import_only_earlier_stages():
    """The layers contract in pyproject.toml: no stage imports a later one."""
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_doctests():
    """Every example in voicer's docstrings, as ``pytest --doctest-modules voicer`` finds them
    (every module imported, ``__main__`` left out), run in this process: the modules are
    mostly imported already, where a ``python -m pytest`` child spent seconds importing them."""
    finder = doctest.DocTestFinder()
    names = ["voicer"]
    names += [m.name for m in pkgutil.walk_packages(voicer.__path__, "voicer.")]
    tried, failures = 0, []
    for name in names:
        if name.rsplit(".", 1)[-1] == "__main__":
            continue
        for test in finder.find(importlib.import_module(name)):
            if not test.examples:
                continue
            report = io.StringIO()
            tried += 1
            if doctest.DocTestRunner().run(test, out=report.write).failed:
                failures.append(report.getvalue())
    assert tried >= 100, tried  # the examples were found (115 docstrings when this was written)
    assert not failures, "\n".join(failures)[-3000:]
