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


def test_normalize_line_folds_to_one_line() -> None:
    assert normalize_line("  Niger\n  junta \t says ") == "Niger junta says"


def test_html_reads_article_content_and_drops_furniture() -> None:
    page = """<html><head><title>Junta speaks | Outlet</title><style>p{color:red}</style>
    <script>var tracker = "Nigeria";</script></head><body>
    <nav><a>Home</a><a>Sport</a></nav><header>BREAKING: football scores</header>
    <article><h1>Junta speaks</h1><p>First &amp; main paragraph.</p><p>Second<br>line.</p></article>
    <aside>Most read: something else</aside><footer>© Outlet</footer></body></html>"""
    text = extract_page(page)
    assert text.title == "Junta speaks | Outlet"
    cleaned = normalize_text(text.body)
    assert cleaned == "Junta speaks\n\nFirst & main paragraph.\n\nSecond\nline."


def test_html_without_article_element_keeps_body_text_minus_furniture() -> None:
    page = "<body><nav>Menu</nav><div><p>Only text.</p></div><script>alert(1)</script></body>"
    assert normalize_text(extract_page(page).body) == "Only text."


def test_clean_reports_path_and_removed_characters() -> None:
    html = "<html><title>Page title</title><body><nav>" + "menu " * 50 + "</nav><p>Body.</p></body></html>"
    cleaned = clean(make(html=html, title=""))
    assert cleaned.path == "html"
    assert cleaned.title == "Page title"
    assert cleaned.body == "Body."
    assert cleaned.removed_chars == len(html) - len("Body.")

    plain = clean(make(body="  Some   text \n"))
    assert (plain.path, plain.body, plain.removed_chars) == ("body", "Some text", 6)


def test_html_wins_over_body_when_both_are_given() -> None:
    cleaned = clean(make(body="plain", html="<p>from page</p>"))
    assert (cleaned.path, cleaned.body) == ("html", "from page")
