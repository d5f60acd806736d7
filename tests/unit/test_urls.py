import pytest

from sahelwatch.core.cleaning.urls import canonical_url

BASE = "https://news.example/afrique/niger-coup"

# (input, canonical form): one row per rule, grouped by rule.
REWRITES = [
    # scheme and host
    ("http://news.example/afrique/niger-coup", BASE),
    ("HTTPS://NEWS.EXAMPLE/afrique/niger-coup", BASE),
    ("HTTP://News.Example/Afrique/Niger-Coup", "https://news.example/Afrique/Niger-Coup"),
    ("https://www.news.example/afrique/niger-coup", BASE),
    ("https://m.news.example/afrique/niger-coup", BASE),
    ("https://mobile.news.example/afrique/niger-coup", BASE),
    ("https://amp.news.example/afrique/niger-coup", BASE),
    ("https://WWW.m.news.example/afrique/niger-coup", BASE),
    ("https://www.example/a", "https://www.example/a"),
    ("https://m.co/a", "https://m.co/a"),
    ("https://wwwnews.example/a", "https://wwwnews.example/a"),
    ("https://mm.news.example/a", "https://mm.news.example/a"),
    ("https://radio.news.example/a", "https://radio.news.example/a"),
    # user info, ports, fragment
    ("https://reader:secret@news.example/afrique/niger-coup", BASE),
    ("http://news.example:80/afrique/niger-coup", BASE),
    ("https://news.example:443/afrique/niger-coup", BASE),
    ("https://news.example:8443/afrique/niger-coup", "https://news.example:8443/afrique/niger-coup"),
    ("http://[2001:DB8::1]:80/a", "https://[2001:db8::1]/a"),
    ("https://news.example/afrique/niger-coup#comments", BASE),
    ("https://news.example/afrique/niger-coup?#", BASE),
    # kept query parameters: sorted, blank values kept, "s" kept
    ("https://news.example/list?page=2", "https://news.example/list?page=2"),
    ("https://news.example/a?b=2&a=1&c=3", "https://news.example/a?a=1&b=2&c=3"),
    ("https://news.example/a?b=&a", "https://news.example/a?a&b="),
    ("https://news.example/a?a=1&&b=2&", "https://news.example/a?a=1&b=2"),
    ("https://news.example/a?s=Xy12AbCd", "https://news.example/a?s=Xy12AbCd"),
    ("https://news.example/a?outputType=xml", "https://news.example/a?outputType=xml"),
    (
        "https://news.example/a?reference=7&source=rss&shared=1",
        "https://news.example/a?reference=7&shared=1&source=rss",
    ),
    ("https://news.example/a?amplitude=3&utm=1", "https://news.example/a?amplitude=3&utm=1"),
    # AMP paths
    ("https://news.example/afrique/niger-coup/amp", BASE),
    ("https://news.example/afrique/niger-coup/amp/", BASE),
    ("https://news.example/amp/afrique/niger-coup", BASE),
    ("https://news.example/afrique/niger-coup.amp", BASE),
    ("https://news.example/afrique/niger-coup.amp.html", BASE + ".html"),
    ("https://news.example/amp/afrique/niger-coup/amp", BASE),
    ("https://news.example/amp", "https://news.example/"),
    ("https://news.example/amp/", "https://news.example/"),
    ("https://news.example/amplifier/story", "https://news.example/amplifier/story"),
    ("https://news.example/campaign/amp-up", "https://news.example/campaign/amp-up"),
    ("https://news.example/story.ampl", "https://news.example/story.ampl"),
    # slashes
    ("https://news.example/afrique/niger-coup/", BASE),
    ("https://news.example/afrique/niger-coup///", BASE),
    ("https://news.example//afrique///niger-coup", BASE),
    ("https://news.example", "https://news.example/"),
    ("https://news.example/", "https://news.example/"),
    ("https://news.example//", "https://news.example/"),
    ("https://news.example/?id=1", "https://news.example/?id=1"),
    # percent-encoding
    ("https://news.example/%7Eeditor/%61frique", "https://news.example/~editor/afrique"),
    ("https://news.example/a%2db%5Fc%2E", "https://news.example/a-b_c."),
    ("https://news.example/a%2fb", "https://news.example/a%2Fb"),
    ("https://news.example/%e2%82%ac", "https://news.example/%E2%82%AC"),
    ("https://news.example/actualit\u00e9/r\u00e9gion", "https://news.example/actualit%C3%A9/r%C3%A9gion"),
    ("https://news.example/two words", "https://news.example/two%20words"),
    ("https://news.example/a?q=%c3%a9t%C3%A9&x=%41", "https://news.example/a?q=%C3%A9t%C3%A9&x=A"),
    ("https://news.example/100%", "https://news.example/100%"),
    ("https://news.example/%61mp/afrique/niger-coup", BASE),
]

TRACKING = [
    "utm_source=twitter",
    "utm_medium=social",
    "utm_campaign=sahel",
    "utm_term=niger",
    "utm_content=link",
    "utm_id=42",
    "utm_whatever_next=1",
    "UTM_Source=Feed",
    "utm%5Fsource=encoded",
    "fbclid=IwAR0abc",
    "gclid=Cj0KCQ",
    "dclid=CJ3",
    "msclkid=9f1",
    "mc_cid=1a2b",
    "mc_eid=3c4d",
    "igshid=MzRl",
    "ocid=msedgntp",
    "cmpid=rss",
    "_ga=2.1.2.3",
    "ref=homepage",
    "ref_src=twsrc%5Etfw",
    "ref_url=https%3A%2F%2Fx.example",
    "src=rss",
    "smid=tw-share",
    "at_medium=RSS",
    "at_campaign=KARANGA",
    "at_custom1=link",
    "ito=1490",
    "xtor=RSS-3208",
    "ns_campaign=bbc",
    "ns_mchannel=social",
    "ns_source=twitter",
    "ns_linkname=news",
    "outputType=amp",
    "outputtype=AMP",
    "amp",
    "amp=1",
    "amp=",
    "share",
    "share=true",
]

UNCHANGED_BUT_STRIPPED = [
    ("  https://news.example/afrique/niger-coup \n", BASE),
    ("file:///tmp/article.html", "file:///tmp/article.html"),
    ("  urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66\t", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
    ("ftp://www.news.example/a/", "ftp://www.news.example/a/"),
    ("mailto:Desk@News.Example", "mailto:Desk@News.Example"),
    ("", ""),
    ("   ", ""),
    ("not a url at all", "not a url at all"),
    ("news.example/afrique/niger-coup", "news.example/afrique/niger-coup"),
    ("//www.news.example/a/", "//www.news.example/a/"),
    ("http://", "http://"),
    ("https:///path/only", "https:///path/only"),
    ("http://[::1", "http://[::1"),
    ("http://news.example:99999/a", "http://news.example:99999/a"),
    ("http://news.example:port/a", "http://news.example:port/a"),
    ("\x00\x01garbage\udcff", "\x00\x01garbage\udcff"),
]

# Different articles that must keep different identities.
DIFFERENT = [
    ("https://news.example/afrique/1", "https://news.example/afrique/2"),
    ("https://news.example/article?id=1", "https://news.example/article?id=2"),
    ("https://news.example/list", "https://news.example/list?page=2"),
    ("https://news.example/list?page=2", "https://news.example/list?page=3"),
    ("https://news.example/a?a=1", "https://news.example/a?a=1&a=2"),
    ("https://news.example/Niger", "https://news.example/niger"),
    ("https://news.example/a", "https://news.example/a.html"),
    ("https://news.example/a", "https://news.example/b/a"),
    ("https://news.example/a%2Fb", "https://news.example/a/b"),
    ("https://news.example/a?q=x+y", "https://news.example/a?q=x%2By"),
    ("https://news.example/a?s=abc", "https://news.example/a"),
    ("https://news.example/a?reference=1", "https://news.example/a"),
    ("https://news.example/a", "https://news.example:8080/a"),
    ("https://news.example/a", "https://news.example.org/a"),
    ("https://news.example/a", "https://radio.news.example/a"),
    ("https://news.example/amplifier", "https://news.example/"),
    ("https://news.example/a?outputType=xml", "https://news.example/a"),
]

ALL_INPUTS = [
    *(url for url, _ in REWRITES),
    *(f"{BASE}?{param}" for param in TRACKING),
    *(url for url, _ in UNCHANGED_BUT_STRIPPED),
    *(url for pair in DIFFERENT for url in pair),
]


@pytest.mark.parametrize(("url", "expected"), REWRITES)
def test_rewrites(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize("param", TRACKING)
def test_tracking_parameters_are_removed_anywhere_in_the_query(param: str) -> None:
    assert canonical_url(f"{BASE}?{param}") == BASE
    assert canonical_url(f"{BASE}?id=7&{param}&page=2") == f"{BASE}?id=7&page=2"


def test_all_tracking_at_once_and_every_other_rule_together() -> None:
    noisy = "HTTP://user@WWW.News.Example:80//amp/afrique//niger-coup/?" + "&".join([*TRACKING, "id=7"]) + "#top"
    assert canonical_url(noisy) == BASE + "?id=7"


@pytest.mark.parametrize(("url", "expected"), UNCHANGED_BUT_STRIPPED)
def test_what_is_not_an_http_url_is_only_stripped(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_different_articles_stay_different(first: str, second: str) -> None:
    assert canonical_url(first) != canonical_url(second)


@pytest.mark.parametrize("url", ALL_INPUTS)
def test_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
