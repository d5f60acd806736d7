"""Cleaning: from an article's raw text or page to the text every later stage reads."""

from __future__ import annotations

from sahelwatch.core.cleaning.boilerplate import strip_boilerplate
from sahelwatch.core.cleaning.html import extract_page
from sahelwatch.core.cleaning.normalize import normalize_line, normalize_text
from sahelwatch.core.model import Article, CleanedText


def clean(article: Article) -> CleanedText:
    if article.html is not None:
        page = extract_page(article.html)
        return CleanedText(
            title=normalize_line(article.title or page.title),
            body=normalize_text(page.body.replace("\n", "\n\n")),
            path="html",
            original_chars=len(article.html),
            page_date=page.date,
        )
    body = article.body or ""
    return CleanedText(
        title=normalize_line(article.title),
        body=strip_boilerplate(normalize_text(body)),
        path="body",
        original_chars=len(body),
    )


__all__ = ["clean", "normalize_line", "normalize_text"]
