"""The layers of DESIGN.md: nothing imports upward (checked on the source, so a stray import fails CI)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reidlab"

# What each package may import of ours, besides itself (DESIGN.md's table; research also reads
# data for the demo's synthetic set, deploy reads engine's checkpoint format, and research reads
# modeling's ChanceLevel: chance-level CE comes from the loss code itself, a downward import).
ALLOWED = {
    "config": set(),
    "data": {"config"},
    "modeling": {"config"},
    "evaluation": set(),
    "engine": {"config", "data", "modeling", "evaluation"},
    "research": {"config", "data", "modeling", "engine", "evaluation"},
    "deploy": {"config", "data", "modeling", "evaluation", "engine"},
    "cli": {"config", "data", "modeling", "evaluation", "engine", "research", "deploy"},
}


def imported_packages(file: Path) -> set[str]:
    tree = ast.parse(file.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "reidlab" and len(parts) > 1 and parts[1] in ALLOWED:
                found.add(parts[1])
    return found


def test_no_package_imports_upward():
    problems = []
    for package, allowed in ALLOWED.items():
        for file in sorted((PACKAGE / package).rglob("*.py")):
            bad = imported_packages(file) - allowed - {package}
            if bad:
                problems.append(f"{file.relative_to(PACKAGE.parent)} imports {sorted(bad)}")
    assert not problems, "\n".join(problems)
