"""docs/configuration.md is generated from the schema; it must not be stale."""

from pathlib import Path

from reidlab.config.reference import reference_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is stale: run `python -m reidlab.config.reference > docs/configuration.md`"
    )


def test_reference_lists_every_key_with_its_default():
    text = reference_markdown()
    assert "| `SOLVER.BASE_LR` | `0.0003` |" in text
    assert "`SOLVER.EARLY_STOP.PATIENCE` | `10` | *reidlab.*" in text
    assert "`MODEL.BACKBONE.WITH_SE` | `False` | *not supported yet.*" in text
