from datetime import UTC, datetime

from sahelwatch.core.cleaning import clean, normalize_line, normalize_text
from sahelwatch.core.cleaning.html import extract_page
from sahelwatch.core.model import Article


def make(body: str | None = None, html: str | None = None, title: str = "T") -> Article:
    return Article(
        id="a",
        url="https://x.example/a",
        title=title,
        published_at=datetime(2023, 8, 1, tzinfo=UTC),
        source="x.example",
        body=body,
        html=html,
    )


def test_normalize_text_unifies_invisible_differences() -> None:
    decomposed = "Nige\u0301rien\u00a0\u200bcoup\r\n\r\n\r\n\r\nSecond  \t paragraph\x07"
    assert normalize_text(decomposed) == "Nigérien coup\n\nSecond paragraph"


def test_normalize_text_plain_quotes_dashes_and_guillemets() -> None:
    text = "«\u00a0Non\u00a0», a dit l’officier — “jamais”… "
    assert normalize_text(text) == '"Non", a dit l\'officier - "jamais"...'


def test_normalize_line_folds_to_one_line() -> None:
    assert normalize_line("  Niger\n  junta \t says ") == "Niger junta says"


PAGE = """<html><head><title>Junta speaks | Outlet</title><style>p{color:red}</style>
<meta property="article:published_time" content="2023-08-10T16:00:00Z">
<script>var tracker = "Nigeria";</script></head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a></nav><header>BREAKING: football scores from Lagos</header>
<article><h1>Junta speaks</h1>
<p>The military council in Niamey said on Thursday that it would answer any attack on Niger, a day after the
regional bloc ordered its standby force to prepare for deployment.</p>
<p>The statement, read on state television by a spokesman, accused foreign powers of pushing the neighbours to war
and called on citizens to stay calm and vigilant.</p><script>steal()</script></article>
<aside>Most read: something else entirely</aside><footer>© Outlet 2023</footer></body></html>"""


def test_html_reads_article_content_title_and_date() -> None:
    page = extract_page(PAGE)
    assert page.title == "Junta speaks"
    assert page.date == "2023-08-10"
    body = normalize_text(page.body)
    assert body.split("\n")[1].startswith("The military council in Niamey said on Thursday")  # after the <h1>
    assert body.endswith("to stay calm and vigilant.")
    for furniture in ("tracker", "steal", "football", "Most read", "Home", "©", "color:red"):
        assert furniture not in body


def test_clean_reports_path_removed_characters_and_page_date() -> None:
    cleaned = clean(make(html=PAGE, title=""))
    assert (cleaned.path, cleaned.title, cleaned.page_date) == ("html", "Junta speaks", "2023-08-10")
    assert "\n\n" in cleaned.body  # paragraphs stay apart
    assert cleaned.removed_chars == len(PAGE) - len(cleaned.body)

    plain = clean(make(body="  Some   text \n"))
    assert (plain.path, plain.body, plain.removed_chars, plain.page_date) == ("body", "Some text", 6, None)


def test_html_wins_over_body_when_both_are_given() -> None:
    cleaned = clean(make(body="plain", html=PAGE))
    assert cleaned.path == "html"


def test_an_empty_or_broken_page_cleans_to_nothing() -> None:
    assert clean(make(html="")).body == ""
    assert clean(make(html="<html><body></body></html>")).body == ""
    assert clean(make(html="\x00\x01 not html at all")).path == "html"
