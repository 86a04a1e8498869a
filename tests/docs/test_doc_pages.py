"""The lists and links in README.md and docs/ match the code, so the pages cannot drift from it.

- links between pages (and their #anchors) and pictures resolve; pictures stay small;
- migrating-from-fast-reid.md: the "not supported yet" keys are exactly the schema's `unsupported()`
  keys, the "reidlab does not know" keys are exactly fast-reid 1.4's default keys missing from the
  schema, and the table of allowed values is the schema's own;
- troubleshooting.md: every stop reason, every diagnose finding code, every remedy name and every
  doctor check the code has is explained, and nothing the code lacks;
- README.md starts with the two set-up commands CI depends on.
"""

from __future__ import annotations

import ast
import re
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from reidlab.config import ConfigError, ignored_keys_note, load_config
from reidlab.config.schema import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "research"))
from doc_commands import REPO, code_blocks, doc_files  # noqa: E402
from fastreid_fixtures import FASTREID_14_DEFAULTS  # noqa: E402

DOCS = REPO / "docs"
MIGRATING = DOCS / "migrating-from-fast-reid.md"
TROUBLESHOOTING = DOCS / "troubleshooting.md"
MAX_IMAGE_BYTES = 150_000
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _prose(file: Path) -> str:
    """The page without its fenced code blocks (links and headings there are not links and headings)."""
    out, fenced = [], False
    for line in file.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line)
    return "\n".join(out)


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(file: Path) -> set[str]:
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", _prose(file), re.MULTILINE)}


# ------------------------------------------------------------------ links and pictures
@pytest.mark.parametrize("page", doc_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_links_and_anchors_resolve(page):
    for target in _LINK.findall(_prose(page)):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path_part, _, anchor = target.partition("#")
        file = (page.parent / path_part).resolve() if path_part else page
        assert file.exists(), f"{page.name}: link to {target}: {file} does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: link to {target}: no heading with anchor #{anchor} in {file.name}"


def test_pictures_exist_are_png_and_small():
    pictures = [(page, target) for page in doc_files() for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", _prose(page))]
    assert pictures, "the docs show no picture"
    for page, target in pictures:
        file = (page.parent / target).resolve()
        data = file.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{target} is not a PNG"
        assert len(data) <= MAX_IMAGE_BYTES, f"{target} is {len(data)} bytes; keep pictures under {MAX_IMAGE_BYTES}"


def test_readme_starts_with_the_two_setup_commands():
    blocks = code_blocks(REPO / "README.md")
    assert blocks[0].text.strip() == 'python3 -m pip install torch==2.14.1 torchvision==0.29.1 -e ".[test]" && reidlab demo'
    assert blocks[1].text.strip() == "python3 -m pytest"
    assert "docs/" in (REPO / "README.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ migrating from fast-reid
def _schema_fields(section: BaseModel = Config(), prefix: str = ""):
    for name, field in type(section).model_fields.items():
        value = getattr(section, name)
        if isinstance(value, BaseModel):
            yield from _schema_fields(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", field


def _between(file: Path, marker: str) -> str:
    text = file.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker}:start -->(.*?)<!-- {marker}:end -->", text, re.DOTALL)
    assert match, f"{file.name}: no <!-- {marker}:start --> ... <!-- {marker}:end --> section"
    return match.group(1)


def _listed_keys(file: Path, marker: str) -> list[str]:
    return re.findall(r"^- `([A-Z0-9_.]+)`\s*$", _between(file, marker), re.MULTILINE)


def _as_list(keys: list[str]) -> str:
    return "".join(f"- `{key}`\n" for key in keys)


def test_not_supported_yet_lists_exactly_the_schemas_unsupported_keys():
    expected = [k for k, f in _schema_fields() if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("unsupported")]
    listed = _listed_keys(MIGRATING, "unsupported")
    assert listed == expected, f"update the list in {MIGRATING.name} to:\n{_as_list(expected)}"


def _flat(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_unknown_keys_are_exactly_fastreid_14_keys_missing_from_the_schema():
    known = {k for k, _ in _schema_fields()}
    expected = [k for k in _flat(FASTREID_14_DEFAULTS) if k not in known]
    listed = _listed_keys(MIGRATING, "unknown")
    assert listed == expected, f"update the list in {MIGRATING.name} to:\n{_as_list(expected)}"
    with pytest.raises(ConfigError, match="SOLVER.CLIP_GRADIENTS.ENABLED is a fast-reid key that reidlab does not run"):
        load_config(None, ["SOLVER.CLIP_GRADIENTS.ENABLED", "True"])
    assert "MODEL.QUEUE_SIZE" in ignored_keys_note(load_config(None, ["MODEL.QUEUE_SIZE", "1"]))  # MoCo's alone


def _choices(annotation) -> list | None:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    for argument in typing.get_args(annotation):
        found = _choices(argument)
        if found:
            return found
    return None


def test_allowed_values_table_is_the_schemas():
    fields = dict(_schema_fields())
    rows = re.findall(r"^\| `([A-Z0-9_.]+)` \| (.+) \|\s*$", _between(MIGRATING, "choices"), re.MULTILINE)
    assert len(rows) >= 10
    for key, values in rows:
        assert key in fields, f"{key} is not a config key"
        listed = re.findall(r"`([^`]+)`", values)
        expected = [str(v) for v in _choices(fields[key].annotation)]
        assert listed == expected, f"{MIGRATING.name}: {key}: the schema allows {expected}"


# ------------------------------------------------------------------ troubleshooting
def _string_first_args(call_name: str) -> set[str]:
    """First string arguments of every call to `call_name(...)` in reidlab/research (finding codes, remedy names)."""
    found = set()
    for file in (REPO / "reidlab" / "research").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == call_name and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def _first_column(file: Path, section_heading: str) -> set[str]:
    text = _prose(file)
    start = text.index(section_heading)
    following = re.search(r"^## ", text[start + len(section_heading):], re.MULTILINE)
    section = text[start: start + len(section_heading) + (following.start() if following else len(text))]
    return set(re.findall(r"^\| `([a-z_0-9]+)`", section, re.MULTILINE))


def test_every_stop_reason_is_explained():
    from reidlab.engine.stop_reasons import StopReason

    reasons = {r.value for r in StopReason}
    assert _first_column(TROUBLESHOOTING, "## Stop reasons") == reasons
    assert reasons <= anchors(TROUBLESHOOTING), "each stop reason needs its own ### heading"


def test_every_diagnose_finding_is_explained():
    codes = _string_first_args("Finding")
    assert len(codes) >= 15, codes
    assert _first_column(TROUBLESHOOTING, "## Diagnose findings") == codes


def _remedy_names() -> set[str]:
    """Every remedy name in reidlab/research: string constants shaped like one (some reach Remedy() through a helper)."""
    names = set()
    for file in (REPO / "reidlab" / "research").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"(fix|solution_[0-9])_[a-z0-9_]+", node.value):
                names.add(node.value)
    return names


def test_every_remedy_named_in_the_docs_exists_and_every_remedy_is_named():
    names = _remedy_names()
    assert len(names) >= 10, names
    for page in doc_files():
        mentioned = set(re.findall(r"\b((?:fix|solution_[0-9])_[a-z0-9_]*[a-z0-9])\b", page.read_text(encoding="utf-8")))
        assert mentioned <= names, f"{page.name} names remedies diagnose never writes: {sorted(mentioned - names)}"
    workflow = (DOCS / "workflow.md").read_text(encoding="utf-8")
    troubleshooting = TROUBLESHOOTING.read_text(encoding="utf-8")
    for name in names:
        page = workflow if name.startswith("solution_") else troubleshooting
        assert f"`{name}`" in page, f"remedy {name} is not explained"


def test_every_doctor_check_is_explained():
    from reidlab.research.doctor import CHECK_ORDER

    assert _first_column(TROUBLESHOOTING, "## Doctor checks") == {name for name, _ in CHECK_ORDER}
    text = TROUBLESHOOTING.read_text(encoding="utf-8")
    for name, title in CHECK_ORDER:
        assert f"`{name}` ({title})" in text


def test_the_readmes_real_data_quick_start_shows_where_the_data_set_goes_and_train_help_points_to_the_keys():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start on real data", 1)[1].split("## ", 1)[0]
    assert "DATASETS.ROOT" in quick_start
    from reidlab.cli.main import build_parser

    train = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    assert "docs/configuration.md" in train.format_help()
