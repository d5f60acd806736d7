"""Main text of a whole news page, with trafilatura.

trafilatura is the reference extractor for news pages (best F1 among open
extractors in its authors' and ScrapingHub's benchmarks) and is maintained;
``make bench`` reports its cost apart, as it is the one expensive stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from trafilatura import bare_extraction
from trafilatura.settings import Document


@dataclass(frozen=True, slots=True)
class PageText:
    title: str
    body: str
    date: str | None


def extract_page(html: str) -> PageText:
    """Title, body paragraphs (one per line) and the page's publication date (YYYY-MM-DD) when found."""
    if not html.strip():
        return PageText(title="", body="", date=None)
    document = bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
        deduplicate=True,
    )
    if not isinstance(document, Document):  # None: nothing found (a dict only comes with as_dict=True)
        return PageText(title="", body="", date=None)
    return PageText(title=document.title or "", body=document.text or "", date=document.date or None)
