"""Commands shown in README.md and docs/: found in fenced code blocks, split into single commands.

bash blocks (```bash, ```sh, ```shell) join lines ending in `\\`; Windows blocks (```bat, ```cmd)
join lines ending in `^`. Comments (`# ...` in bash, `rem` / `::` in cmd) are dropped, and a line
is split at `&&`, `||` and `;`. Each command comes back as its words, with where it was found.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASH = {"bash", "sh", "shell"}
CMD = {"bat", "cmd", "batch"}
_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")


@dataclass(frozen=True)
class Block:
    file: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str


@dataclass(frozen=True)
class Command:
    file: Path
    line: int
    shell: str  # "bash" or "cmd"
    words: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(REPO).as_posix()}:{self.line}: {' '.join(self.words)}"


def doc_files() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def code_blocks(file: Path) -> list[Block]:
    blocks: list[Block] = []
    language, start, lines = None, 0, []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        match = _FENCE.match(line.strip())
        if language is None and match:
            language, start, lines = match.group(1).lower(), number, []
        elif language is not None and line.strip() == "```":
            blocks.append(Block(file, start, language, "\n".join(lines)))
            language = None
        elif language is not None:
            lines.append(line)
    assert language is None, f"{file}: a code block opened at line {start} is never closed"
    return blocks


def commands(block: Block) -> list[Command]:
    """The commands of one bash or cmd block (other languages: none)."""
    if block.language in BASH:
        return [Command(block.file, block.line + n, "bash", tuple(w)) for n, w in _bash_commands(block.text)]
    if block.language in CMD:
        return [Command(block.file, block.line + n, "cmd", tuple(w)) for n, w in _cmd_commands(block.text)]
    return []


def all_commands() -> list[Command]:
    return [c for f in doc_files() for b in code_blocks(f) for c in commands(b)]


def _joined(text: str, continuation: str) -> list[tuple[int, str]]:
    """Logical lines (1-based offset of their first physical line inside the block)."""
    out: list[tuple[int, str]] = []
    pending, first = "", 0
    for offset, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not pending:
            first = offset
        if line.endswith(continuation):
            pending += line[: -len(continuation)] + " "
            continue
        out.append((first, pending + line))
        pending = ""
    assert not pending, f"a command ends with a continuation {continuation!r}: {pending!r}"
    return out


def _split_chain(words: list[str], separators: set[str]) -> list[list[str]]:
    parts, current = [], []
    for word in words:
        if word in separators:
            parts.append(current)
            current = []
        else:
            current.append(word)
    parts.append(current)
    return [p for p in parts if p]


def _bash_commands(text: str) -> list[tuple[int, list[str]]]:
    out = []
    for offset, line in _joined(text, "\\"):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
        out += [(offset, part) for part in _split_chain(words, {"&&", "||", ";"})]
    return out


def _cmd_commands(text: str) -> list[tuple[int, list[str]]]:
    out = []
    for offset, line in _joined(text, "^"):
        stripped = line.strip()
        if not stripped or stripped.lower().startswith(("rem ", "::")) or stripped.lower() == "rem":
            continue
        if stripped.startswith("@"):
            stripped = stripped[1:]
        # cmd quotes with double quotes only; a backslash is a path separator, not an escape.
        words = [w.strip('"') for w in re.findall(r'"[^"]*"|\S+', stripped)]
        out += [(offset, part) for part in _split_chain(words, {"&&", "||", "&"})]
    return out
