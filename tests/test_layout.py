"""Project-level rules: dependency direction, one HTTP module, documented commands."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.paths import REPO

ROOT = REPO


def imports_of(package: str) -> set[str]:
    return {name for path in (ROOT / package).rglob("*.py") for name in _modules(path)}


def test_classifiers_and_alerts_never_import_monitor() -> None:
    assert "monitor" not in imports_of("classifiers")
    assert "monitor" not in imports_of("alerts")


def test_httpx_is_used_from_one_module_only() -> None:
    users = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "monitor").rglob("*.py")
        if "httpx" in _modules(path) or "httpcore" in _modules(path)
    ]
    assert users, "the pattern still finds the HTTP client"
    assert [u for u in users if not u.startswith("monitor/fetch/")] == []


def _modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_cli_command_is_in_the_readme() -> None:
    from typer.main import get_command

    from monitor.cli import app

    readme = (ROOT / "README.md").read_text()
    group = get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        for sub in subs or [None]:
            phrase = f"stormwatch {name}" + (f" {sub}" if sub else "")
            assert phrase in readme, f"`{phrase}` is not documented in README.md"


PROJECT_PACKAGES = {"monitor", "alerts", "classifiers", "tests"}


def test_benchmark_scripts_put_the_repository_ahead_of_their_own_folder() -> None:
    """Run as ``python benchmarks/x.py``, a script's folder comes first on sys.path, where
    ``benchmarks/alerts.py`` (and ``queue_bench.py``'s would-be name ``queue.py``) shadow
    real modules: ``monitor.pipeline`` then failed to import ``alerts.channels``. Every script
    that imports the project must first take its folder off sys.path or put the root
    ahead of it."""
    missing = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        lines = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom | ast.Import) and _names(node) & PROJECT_PACKAGES
        ]
        if not lines:
            continue
        guards = [
            number
            for number, line in enumerate(source.splitlines(), start=1)
            if "!= _HERE]" in line or "sys.path.insert(0, str(" in line
        ]
        if not guards or min(guards) > min(lines):
            missing.append(path.name)
    assert missing == []


def _names(node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.ImportFrom):
        return {(node.module or "").split(".")[0]} if node.level == 0 else set()
    return {alias.name.split(".")[0] for alias in node.names}


def locked_versions() -> dict[str, Version]:
    """Name -> pinned version over both lock files (``name==version \\`` lines)."""
    pins = {}
    for lock in ("requirements.lock", "requirements-torch.lock"):
        for line in (ROOT / lock).read_text().splitlines():
            if "==" in line and not line.startswith((" ", "#")):
                name, _, version = line.split(" ")[0].partition("==")
                pins[canonicalize_name(name)] = Version(version)
    return pins


def test_the_lock_pins_every_requirement_of_pyproject_within_its_range() -> None:
    """`make` installs the lock with --no-deps: a requirement missing there would be
    missing from every installation. Fix: `make lock`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = locked_versions()
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (text, pins[name])


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _internal_imports(path: Path, known: set[str]) -> set[str]:
    """The ``monitor`` modules ``path`` imports anywhere in it (functions too: an import
    moved into a function to dodge a circle is still a circle), except under
    ``if TYPE_CHECKING:``, which never runs."""
    tree = ast.parse(path.read_text())
    skip = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    return found


def import_cycles(package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module in ``package``'s import graph."""
    paths = {_module_name(p): p for p in (ROOT / package).rglob("*.py")}
    known = set(paths)
    graph = {name: _internal_imports(path, known) - {name} for name, path in paths.items()}
    cycles: list[list[str]] = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return cycles


def test_no_import_circles_inside_the_packages() -> None:
    assert {
        package: import_cycles(package) for package in ("monitor", "alerts", "classifiers")
    } == {
        "monitor": [],
        "alerts": [],
        "classifiers": [],
    }


def test_the_cycle_finder_finds_a_circle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loop.b import x\n")
    (package / "b.py").write_text("def f():\n    from loop import a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from loop import a\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert import_cycles("loop") == [["loop.a", "loop.b"]]


CITATION = re.compile(r"(docs/ARCHITECTURE|RESULTS)\.md,\s*(?:#\s*)?\"([^\"]+)\"")


def _headings(path: Path) -> set[str]:
    return {
        line.lstrip("#").strip() for line in path.read_text().splitlines() if line.startswith("#")
    }


def test_every_section_a_comment_cites_exists() -> None:
    """Comments point at docs/ARCHITECTURE.md and benchmarks/RESULTS.md by section title;
    a renamed or missing section would leave a pointer to nothing."""
    sections = {
        "docs/ARCHITECTURE": _headings(ROOT / "docs" / "ARCHITECTURE.md"),
        "RESULTS": _headings(ROOT / "benchmarks" / "RESULTS.md"),
    }
    cited = [
        (path.relative_to(ROOT).as_posix(), doc, " ".join(title.replace("#", " ").split()))
        for package in ("monitor", "alerts", "classifiers")
        for path in (ROOT / package).rglob("*.py")
        for doc, title in CITATION.findall(path.read_text())
    ]
    assert len(cited) >= 10, "the pattern still finds the citations"
    assert [c for c in cited if c[2] not in sections[c[1]]] == []


def test_no_test_module_imports_another() -> None:
    """What tests share lives in tests/support; a test module imported by another would be
    loaded twice under two names and become an API (docs/ARCHITECTURE.md, "Tests: what
    they share")."""
    offenders = [
        (path.relative_to(ROOT).as_posix(), name)
        for path in (ROOT / "tests").rglob("*.py")
        for name in _imported_modules(path)
        if name == "tests.conftest" or name.rpartition(".")[2].startswith("test_")
    ]
    assert offenders == []


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in names if n.startswith("tests")}
