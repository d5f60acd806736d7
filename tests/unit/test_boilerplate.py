"""Page furniture in plain-text bodies: the seed page and our own pages in other layouts."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from sahelwatch.core.cleaning import normalize_text
from sahelwatch.core.cleaning.boilerplate import strip_boilerplate
from tests.conftest import ROOT

PAGES = sorted((ROOT / "tests" / "fixtures" / "pages").glob("*.txt"))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_pages_keep_the_article_and_drop_the_furniture(page: Path) -> None:
    raw = orjson.loads(page.with_suffix(".expected.json").read_bytes())
    expected = {k: normalize_text(v) if isinstance(v, str) else v for k, v in raw.items()}
    expected["must_keep"] = [normalize_text(t) for t in raw["must_keep"]]
    cleaned = strip_boilerplate(normalize_text(page.read_text()))
    paragraphs = cleaned.split("\n\n")
    assert paragraphs[0] == expected["first"]
    assert paragraphs[-1] == expected["last"]
    for text in expected["must_keep"]:
        assert text in cleaned
    for text in expected["must_drop"]:
        assert text not in cleaned
    if "subheading" in expected:
        assert (expected["subheading"] in paragraphs) == expected["subheading_kept"]


def test_seed_page_keeps_only_the_article(seeds: Path) -> None:
    cleaned = strip_boilerplate(normalize_text((seeds / "001_77e9e5f2fc69e3d4.txt").read_text()))
    paragraphs = cleaned.split("\n\n")
    lead = "US Secretary of State Antony Blinken has called on Niger's coup leaders"
    assert paragraphs[0].startswith(lead) or paragraphs[1].startswith(lead)
    assert paragraphs[-1].startswith('"One thing is certain, President [of Mali Assimi] Goita')
    assert paragraphs[-1].endswith("as quoted by Mali's aBamako news website.")
    for furniture in (
        "Daamoush",
        "Hezbollah",
        "Israeli media",
        "Most Read",
        "Read Next",
        "Read more",
        "Epstein",
        "Politics",
        "All Rights Reserved",
        "Al Mayadeen",
        "4 Min Read",
        "Abdourahmane Tchiani",
    ):
        assert furniture not in cleaned


def test_clean_prose_is_kept_whole(seeds: Path) -> None:
    text = normalize_text((seeds / "000_d7400b1a43f4265f.txt").read_text())
    assert strip_boilerplate(text) == text.replace("\n", "\n\n")


def test_short_articles_without_long_paragraphs_survive() -> None:
    text = "Troops were deployed in Djibo.\nThe army did not comment."
    assert strip_boilerplate(text) == "Troops were deployed in Djibo.\n\nThe army did not comment."


def test_a_page_of_menus_only_keeps_nothing_that_is_furniture() -> None:
    assert strip_boilerplate("Share\nFollow us\n© 2024 Outlet\nPrivacy Policy") == ""
