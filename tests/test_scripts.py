"""Every script in scripts/ imports and answers ``--help`` with its own description, run as the
README runs them (``python scripts/NAME.py``), each a fresh process."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def description(script: Path) -> str:
    """The first line of the script's docstring, which its argparse parser describes it by."""
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert docstring, f"{script.name} has no docstring"
    return docstring.splitlines()[0]


def test_the_scripts_are_found():
    names = {script.name for script in SCRIPTS}
    assert {"bench.py", "edge_server.py", "loudness_report.py"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_each_script_answers_help(script: Path):
    done = subprocess.run(
        [sys.executable, str(script.relative_to(ROOT)), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"usage: {script.name}"), done.stdout[:200]
    assert " ".join(description(script).split()) in " ".join(done.stdout.split())
