"""The tree is the architecture: feature packages only, private names kept private, and
ARCHITECTURE.md naming what is there. (Import direction: the import-linter contracts.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "webapp" / "services"
PACKAGES = {"core", "billing", "subscriptions", "payments", "documents", "engagement",
            "accounts", "home", "admin", "webhooks"}


def _python_files(*folders: str):
    for folder in folders:
        yield from (p for p in (ROOT / folder).rglob("*.py") if ".cache" not in p.parts)


def test_every_service_module_sits_in_a_feature_package():
    loose = sorted(p.name for p in SERVICES.glob("*.py") if p.name != "__init__.py")
    packages = {p.name for p in SERVICES.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert loose == [] and packages == PACKAGES


# gettext's conventional names (services/core/i18n.py): public, though they start with "_".
GETTEXT = {"_"}


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for path in _python_files("webapp", "worker", "bench"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith(("webapp", "worker", "bench")):
                offenders += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                              for a in node.names
                              if a.name.startswith("_") and a.name not in GETTEXT]
    assert offenders == []


def test_no_private_name_is_used_through_another_module():
    offenders = []
    for path in _python_files("webapp", "worker", "bench"):
        tree = ast.parse(path.read_text())
        imported = {a.asname or a.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith(("webapp", "worker", "bench"))
                    for a in node.names}
        offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}"
                      for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                      and node.value.id in imported and node.attr.startswith("_")
                      and not node.attr.startswith("__") and node.attr not in GETTEXT]
    assert offenders == []


def test_a_service_that_needs_the_date_takes_the_moment():
    """ARCHITECTURE.md: a public service function that needs the organization's calendar date
    takes `at: Moment`, not `today` (pure date helpers, without a session, take a date)."""
    offenders = []
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                if {"session", "today"} <= names:
                    offenders.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert offenders == []


def test_architecture_md_names_every_package_and_blueprint():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    for package in PACKAGES:
        assert f"  {package}/" in text, package
    for path in SERVICES.rglob("*.py"):
        if path.name != "__init__.py" and path.parent.name != "catalog":
            assert path.stem in text, path.relative_to(ROOT)
    mentioned = set(re.findall(r"`(?:services/)?(\w+)/`", text))
    assert PACKAGES <= mentioned | PACKAGES


def test_tests_keep_the_package_names_inside_each_layer():
    for layer in ("unit", "web", "worker", "browser"):
        loose = sorted(p.name for p in (ROOT / "tests" / layer).glob("test_*.py"))
        folders = {p.name for p in (ROOT / "tests" / layer).iterdir()
                   if p.is_dir() and (p / "__init__.py").exists()}
        assert loose == [], layer
        assert folders <= PACKAGES | {"app", "bench", "demo"}, (layer, folders)
