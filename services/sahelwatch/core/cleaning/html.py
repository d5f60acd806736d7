"""Text of an HTML page: its title and the paragraphs of its main content.

Scripts, styles, navigation, headers, footers, asides and forms are page
furniture, never article text. When the page marks its content with
``<article>`` or ``<main>``, only that part is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

_SKIP = frozenset(
    {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe", "button"}
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_BLOCK = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "tr",
        "figure",
        "figcaption",
        "br",
        "hr",
    }
)
_CONTENT = ("article", "main")


@dataclass(frozen=True, slots=True)
class PageText:
    title: str
    body: str


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.chunks: dict[str, list[str]] = {"page": [], "article": [], "main": []}
        self._skip_depth = 0
        self._in_title = False
        self._open_content: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag in _BLOCK:
                self._write("\n")
            return
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _CONTENT:
            self._open_content.append(tag)
        if tag in _BLOCK:
            self._write("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "title":
            self._in_title = False
        if tag in _BLOCK:
            self._write("\n\n")
        if tag in _CONTENT and tag in self._open_content:
            self._open_content.remove(tag)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        else:
            self._write(data.replace("\n", " "))

    def _write(self, text: str) -> None:
        if self._skip_depth:
            return
        self.chunks["page"].append(text)
        for tag in set(self._open_content):
            self.chunks[tag].append(text)


def extract_page(html: str) -> PageText:
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    for part in ("article", "main", "page"):
        body = "".join(parser.chunks[part])
        if body.strip():
            return PageText(title="".join(parser.title), body=body)
    return PageText(title="".join(parser.title), body="")
