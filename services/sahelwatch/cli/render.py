"""Human-readable one-message summaries for ``subscribe --format pretty``."""

from __future__ import annotations

import textwrap
from typing import Any


def render(topic: str, value: Any) -> str:
    if not isinstance(value, dict):
        return f"[{topic}] {str(value)[:200]}"
    if "alert_id" in value:
        return _alert(topic, value)
    if "reason" in value and "original" in value:
        return _dead_letter(topic, value)
    if "duplicate" in value:
        return _article(topic, value)
    return f"[{topic}] {str(value)[:200]}"


def _article(topic: str, a: dict[str, Any]) -> str:
    head = f"[{topic}] {a['published_at']}  {a['source']}  {a['id']}\n  {a['title']}"
    cleaning = a["cleaning"]
    lines = [
        head,
        f"  cleaned via {cleaning['path']}: {len(a['text']['body'])} chars kept, {cleaning['removed_chars']} removed",
    ]
    if a["duplicate"]:
        d = a["duplicate"]
        lines.append(
            f"  DUPLICATE of {d['of']} ({d['kind']}, matched on {d['matched_on']}, similarity {d['similarity']:.2f})"
        )
        return "\n".join(lines)
    countries = ", ".join(f"{c['code']}{'*' if c['primary'] else ''} x{c['mentions']}" for c in a["countries"])
    actors = ", ".join(x["name"] for x in sorted(a["actors"], key=lambda x: -x["mention_count"])[:6])
    keywords = ", ".join(f"{k['category']} {k['score']:g}" for k in sorted(a["keywords"], key=lambda k: -k["score"]))
    lines += [
        f"  relevance {a['relevance']:.2f} | countries {countries or '-'} | outlets {len(a['story']['sources'])}",
        f"  actors: {actors or '-'}",
        f"  language: {keywords or '-'}",
        "  " + textwrap.shorten(a["text"]["body"], 160, placeholder=" …"),
    ]
    return "\n".join(lines)


def _dead_letter(topic: str, d: dict[str, Any]) -> str:
    where = d["source"]
    return (
        f"[{topic}] REFUSED {d['reason']}  ({where['topic']} partition {where['partition']} offset {where['offset']}, "
        f"{d['original_size']} bytes)\n  {d['message']}"
    )


def _alert(topic: str, a: dict[str, Any]) -> str:
    key = ", ".join(f"{k}={v}" for k, v in a["key"].items() if v)
    lines = [
        f"[{topic}] {a['severity'].upper()} {a['status']} {a['rule']} ({key}): value {a['value']} "
        f"(threshold {a['threshold']}) in {a['window']['start']} .. {a['window']['end']}, "
        f"{a['distinct_sources']} sources"
    ]
    lines += [f"  - {e['source']}: {e['title']}" for e in a["evidence"][:5]]
    return "\n".join(lines)
