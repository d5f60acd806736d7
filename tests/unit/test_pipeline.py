import itertools
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from sahelwatch.core.dedup import Index
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import Origin, TaggedArticle
from sahelwatch.core.pipeline import Pipeline, minhash
from sahelwatch.core.preparation import Preparation
from tests.conftest import EXAMPLES, article, encode

NOW = datetime(2023, 9, 1, tzinfo=UTC)  # after every example article: none is future-dated
_offsets = itertools.count()


class Store:
    """The dedup state and its band index, as a worker holds them."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}
        self.index = Index()


PREPARATION = Preparation(2**21)


def run(pipeline: Pipeline, raw: bytes, store: Store) -> TaggedArticle:
    """One message, read from a new position of the input topic, prepared then deduplicated as the worker does."""
    article = PREPARATION.prepare(raw, NOW, Origin("articles.raw", 0, next(_offsets)))
    return pipeline.deduplicate(article, store.state, store.index, minhash(article))


def test_republished_article_and_copied_body_are_duplicates() -> None:
    pipeline, state = Pipeline(), Store()
    first = run(pipeline, encode(article()), state)
    again = run(pipeline, encode(article()), state)
    copy = run(pipeline, encode(article(id="t-2", url="https://other.example/2", source="other.example")), state)
    other = run(pipeline, encode(article(id="t-3", url="https://news.example/t-3", body="A different story.")), state)
    assert first.duplicate is None
    assert again.duplicate is not None and again.duplicate.matched_on == "id"
    assert copy.duplicate is not None and (copy.duplicate.of, copy.duplicate.matched_on) == ("t-1", "body_sha256")
    assert other.duplicate is None


def test_whitespace_and_case_changes_do_not_hide_a_copy() -> None:
    pipeline, state = Pipeline(), Store()
    run(pipeline, encode(article(body="Niger junta  rejects\nthe ultimatum.")), state)
    copy = run(pipeline, encode(article(id="t-9", body="NIGER junta rejects the ultimatum.")), state)
    assert copy.duplicate is not None


def test_rejections_propagate() -> None:
    with pytest.raises(Rejected):
        run(Pipeline(), b"nope", Store())


def test_examples_hold_exactly_the_planted_duplicates() -> None:
    pipeline, state = Pipeline(), Store()
    results = [
        run(pipeline, line, state) for line in (EXAMPLES / "articles.jsonl").read_bytes().splitlines() if line.strip()
    ]
    duplicates = {(a.id, a.duplicate.of) for a in results if a.duplicate}
    assert duplicates == {("sw-demo-015", "sw-demo-011"), ("sw-demo-013", "sw-demo-013")}


def test_the_same_page_scraped_twice_with_another_ticker_is_an_exact_duplicate() -> None:
    story = (EXAMPLES / "articles.jsonl").read_bytes().splitlines()[3]
    body = orjson.loads(story)["body"]
    pipeline, state = Pipeline(), Store()
    pages = []
    for n, ticker in enumerate(
        ("Stocks rally in Tokyo as yen weakens.", "Storm warning issued for the coast of Kenya.")
    ):
        page = f"Home\nWorld\nBREAKING\n{ticker}\nAnother headline about a football transfer.\n\n{body}\n\nMost Read\nX"
        pages.append(run(pipeline, encode(article(id=f"scrape-{n}", url=f"https://x.example/{n}", body=page)), state))
    assert pages[0].duplicate is None
    assert pages[1].duplicate is not None
    assert (pages[1].duplicate.kind, pages[1].duplicate.matched_on) == ("exact", "body_sha256")
    assert "Tokyo" not in pages[0].text.body and "Kenya" not in pages[1].text.body


def test_language_and_canonical_url_are_filled_in() -> None:
    french = "La junte au pouvoir à Niamey a annoncé dimanche la fermeture de l'espace aérien du pays, " * 3
    tagged = run(
        Pipeline(),
        encode(article(url="http://www.news.example/a/?utm_source=x", body=french)),
        Store(),
    )
    assert (tagged.language, tagged.language_detected) == ("fr", True)
    assert tagged.canonical_url == "https://news.example/a"
