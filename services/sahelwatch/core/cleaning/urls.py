"""Canonical article URLs: one spelling per article, so the same story is caught again under another link.

Feeds, social shares and aggregators hand out the same page with different
schemes, hosts, tracking tags and AMP wrappers. canonical_url removes only
what cannot change which article is served:

- scheme and host are lower-cased, http becomes https, and a leading "www.",
  "m.", "mobile." or "amp." is dropped (repeatedly, but never down to a bare
  top-level name): outlets serve the same page on all of them;
- user info, default ports and the fragment never reach the server's choice
  of article (80 and 443 both count as default: every URL leaves as https);
- tracking parameters go (utm_*, at_*, ns_* of any kind, click ids, share and
  referrer tags, amp and outputType=amp); every other parameter stays, blank
  ones too, sorted so their order does not matter. Parameter names are matched
  case-insensitively. "s" stays although Twitter uses it for share codes,
  because search and story ids use it too;
- AMP paths ("/amp" at either end, ".amp", ".amp.html") become the page they
  wrap;
- duplicate and trailing slashes go (the root keeps its "/"), and percent
  escapes are normalised: unreserved characters decoded, hex upper-cased,
  characters a URL may not hold raw (non-ASCII, spaces) encoded as UTF-8.

Path case, dot segments ("/a/../b") and "+" against "%2B" in a query are left
alone: servers may treat them as meaningful, and a missed duplicate costs less than
two articles merged into one. Anything that is not an absolute http(s) URL
(file:, urn:, a bare host, garbage) comes back only stripped of surrounding
whitespace: it is still an identity, just not one this function understands.
"""

from __future__ import annotations

import re
import string
from urllib.parse import SplitResult, quote, unquote_plus, urlsplit, urlunsplit

_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = frozenset({80, 443})
_TRACKING_PREFIXES = ("utm_", "at_", "ns_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "ocid",
        "cmpid",
        "_ga",
        "ref",
        "ref_src",
        "ref_url",
        "src",
        "smid",
        "ito",
        "xtor",
        "amp",
        "share",
    }
)

# RFC 3986: characters a path may hold raw, and a query "?" besides. "%" is
# kept so existing escapes survive quoting and are normalised afterwards.
_PATH_SAFE = "!$&'()*+,;=:@/%"
_QUERY_SAFE = _PATH_SAFE + "?"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_SLASHES = re.compile(r"/{2,}")
# One AMP marker per pass; repeated until none is left so the result is a fixed point.
_AMP_PATH = re.compile(r"^/amp(?=/)|/amp/?$|\.amp(?=\.html$)|\.amp$")


def canonical_url(url: str) -> str:
    """The URL with everything that does not choose the article removed; see the module docstring."""
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
        port = parts.port
    except ValueError:
        return stripped
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return stripped
    netloc = _host(host)
    if port is not None and port not in _DEFAULT_PORTS:
        netloc = f"{netloc}:{port}"
    return urlunsplit(SplitResult("https", netloc, _path(parts.path), _query(parts.query), ""))


def _host(host: str) -> str:
    while host.startswith(_HOST_PREFIXES):
        shorter = host.split(".", 1)[1]
        if "." not in shorter:
            break
        host = shorter
    # hostname drops the brackets of an IPv6 address; the netloc needs them back.
    return f"[{host}]" if ":" in host else host


def _path(path: str) -> str:
    path = _SLASHES.sub("/", _escapes(path, _PATH_SAFE))
    while True:
        path = path.rstrip("/")
        unwrapped = _AMP_PATH.sub("", path, count=1)
        if unwrapped == path:
            return path or "/"
        path = unwrapped


def _query(query: str) -> str:
    kept = (pair for pair in _escapes(query, _QUERY_SAFE).split("&") if pair and not _is_tracking(pair))
    return "&".join(sorted(kept))


def _is_tracking(pair: str) -> bool:
    name, _, value = pair.partition("=")
    name = unquote_plus(name).lower()
    if name == "outputtype":
        return unquote_plus(value).lower() == "amp"
    return name in _TRACKING_NAMES or name.startswith(_TRACKING_PREFIXES)


def _escapes(text: str, safe: str) -> str:
    # surrogatepass: a lone surrogate (from a bad decode upstream) is encoded, not raised on.
    return _ESCAPE.sub(_normal_escape, quote(text, safe=safe, errors="surrogatepass"))


def _normal_escape(match: re.Match[str]) -> str:
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()
