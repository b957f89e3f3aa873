"""pyproject.toml declares what voicer needs: every third-party module voicer/ imports comes
from a declared runtime dependency, and the build backend understands the licence field."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules() -> dict[str, Path]:
    """Each top-level module imported anywhere in voicer/, with a file that imports it."""
    found: dict[str, Path] = {}
    for path in sorted((ROOT / "voicer").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.relative_to(ROOT))
    return found


def test_every_third_party_import_is_a_declared_dependency():
    """Every package voicer imports is a dependency, or one of an extra for the feature that
    needs it (the Ray backend: voicer[ray]), never only a test dependency."""
    project = _pyproject()["project"]
    features = [
        spec for extra, specs in project["optional-dependencies"].items() if extra != "test"
        for spec in specs
    ]  # fmt: skip
    declared = {_normal(Requirement(spec).name) for spec in project["dependencies"] + features}
    providers = packages_distributions()
    missing = []
    for module, where in _imported_modules().items():
        if module in sys.stdlib_module_names or module == "voicer" or module == "__future__":
            continue
        distributions = {_normal(d) for d in providers.get(module, [module])}
        if not distributions & declared:
            missing.append(
                f"{module} (imported by {where}; from {', '.join(sorted(distributions))})"
            )
    assert not missing, "not in [project] dependencies: " + "; ".join(missing)


def test_the_build_backend_reads_an_spdx_licence_string():
    config = _pyproject()
    assert isinstance(config["project"]["license"], str)  # PEP 639: setuptools 77 and later
    requires = [Requirement(spec) for spec in config["build-system"]["requires"]]
    (setuptools,) = [r for r in requires if _normal(r.name) == "setuptools"]
    assert setuptools.specifier, "setuptools needs a lower bound"
    assert not setuptools.specifier.contains(Version("76.99"), prereleases=True)
    assert setuptools.specifier.contains(Version("77.0.0"))


def test_the_wheel_holds_voicer_alone():
    """The package discovery pyproject.toml configures finds voicer's packages and nothing
    else: scripts/ (the bench, the Edge stand-in) and tests/ stay in the checkout."""
    from setuptools import find_namespace_packages

    find = _pyproject()["tool"]["setuptools"]["packages"]["find"]
    found = find_namespace_packages(str(ROOT), include=find["include"])
    assert "voicer" in found
    assert [name for name in found if name.split(".")[0] != "voicer"] == []
