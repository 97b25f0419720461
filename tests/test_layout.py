"""Project-level rules: dependency direction, one HTTP module, documented commands."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parent.parent


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
    assert users and all(user.startswith("monitor/fetch/") for user in users), users


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
    real modules: ``monitor.app`` then failed to import ``alerts.channels``. Every script
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
