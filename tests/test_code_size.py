"""Size limits of docs/architecture.md: no module in reidlab/ over 300 lines, no function over 60.

A module that outgrows them usually holds two jobs; split it by job rather than raising the limit.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reidlab"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def long_modules(root: Path) -> list[str]:
    return [f"{p.relative_to(root.parent)} ({n} lines)" for p in sorted(root.rglob("*.py")) if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]


def long_functions(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({n} lines)")
    return found


def test_no_module_over_300_lines():
    assert not long_modules(PACKAGE), f"split these by job: {long_modules(PACKAGE)}"


def test_no_function_over_60_lines():
    assert not long_functions(PACKAGE), f"split these: {long_functions(PACKAGE)}"


def test_the_checks_see_a_long_module_and_a_long_function(tmp_path):
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "small.py").write_text("def f():\n    return 1\n")
    (root / "big.py").write_text("def g():\n" + "    x = 1\n" * 61 + "\n" * 240)
    assert long_modules(root) == ["pkg/big.py (302 lines)"]
    assert long_functions(root) == ["pkg/big.py:1 g (62 lines)"]
