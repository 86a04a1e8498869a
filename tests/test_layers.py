"""The layers of DESIGN.md and docs/architecture.md: nothing imports upward (checked on the source, so a stray import fails CI)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reidlab"

# What each package may import of ours, besides itself. research also reads data (the doctor's data
# check, the demo's synthetic set) and modeling (chance-level CE comes from the loss code itself):
# both are downward imports.
ALLOWED = {
    "errors": set(),
    "config": {"errors"},
    "rundir": {"errors", "config"},
    "data": {"errors", "config"},
    "modeling": {"errors", "config", "rundir"},
    "evaluation": set(),
    "engine": {"errors", "config", "rundir", "data", "modeling", "evaluation"},
    "research": {"errors", "config", "rundir", "data", "modeling", "engine", "evaluation"},
    "deploy": {"errors", "config", "rundir", "data", "modeling", "evaluation"},
    "cli": {"errors", "config", "rundir", "data", "modeling", "evaluation", "engine", "research", "deploy"},
}
TOP_LEVEL = {"__init__", "__main__"}  # reidlab/__init__.py and reidlab/__main__.py


def imported_packages(file: Path) -> set[str]:
    tree = ast.parse(file.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "reidlab" and len(parts) > 1:
                found.add(parts[1])
    return found


def layer_files() -> dict[str, list[Path]]:
    files = {}
    for package in ALLOWED:
        single = PACKAGE / f"{package}.py"
        files[package] = [single] if single.is_file() else sorted((PACKAGE / package).rglob("*.py"))
    return files


def test_every_module_belongs_to_a_layer():
    known = {p for paths in layer_files().values() for p in paths} | {PACKAGE / f"{name}.py" for name in TOP_LEVEL}
    stray = sorted(str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py") if p not in known)
    assert not stray, f"modules outside every layer (add the layer to ALLOWED and to docs/architecture.md): {stray}"


def test_no_package_imports_upward():
    problems = []
    for package, files in layer_files().items():
        for file in files:
            bad = imported_packages(file) - ALLOWED[package] - {package}
            if bad:
                problems.append(f"{file.relative_to(PACKAGE.parent)} imports {sorted(bad)}")
    assert not problems, "\n".join(problems)
