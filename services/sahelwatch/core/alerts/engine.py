"""Windowed threshold and surge alerts over event time, deterministic by construction.

Every first occurrence adds to event-time buckets (``published_at`` floored to
the rule's slide) of each alert key it touches: (rule, country, subject). A
window is judged only once it is closed: when the watermark (the latest
``published_at`` counted) has passed its end plus the allowed lateness. By
then every article that belongs in it has arrived (later ones are counted as
late and change nothing), and sums, source sets and top-evidence lists do not
depend on arrival order, so the stream and a replay of the same articles judge
the same windows the same way and emit the same alerts with the same ids.

State lives in one mutable mapping (a dict offline, a Faust table in the
worker) of JSON-able values:

    wm, wm0                   -> watermark and the first one (surges wait for a baseline's worth of history)
    active                    -> [alert keys with buckets or a firing severity]
    out                       -> {article id: alerts it raised}, a day of event time, resent on redelivery
    key:<rule>|<country>|<subject> -> {"b": {bucket: {"v", "n", "src", "ev", "ids", "reach"}}, "sev", "fired",
                                       "closed", "quiet"}

Hysteresis: a key fires when it reaches a severity level; again at once when it
escalates; at the same level only after the cooldown; and it resolves after a
full window below ``resolve_below`` of the threshold.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sahelwatch.contracts import SCHEMA_VERSION
from sahelwatch.core.alerts.rules import Rule, RuleSet
from sahelwatch.core.model import TaggedArticle, utc_iso
from sahelwatch.core.tagging.tags import Mention

State = MutableMapping[str, Any]
EVIDENCE_PER_BUCKET = 5
EVIDENCE_PER_ALERT = 5
SNIPPET_RADIUS = 70


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    rule: Rule
    status: str  # firing or resolved
    severity: str
    country: str
    subject: str
    window_start: int
    window_end: int
    value: float
    baseline: float | None
    distinct_sources: int
    evidence: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        """The alert message, without ``emitted_at`` (the adapter adds the time it sends it)."""
        rule = self.rule
        return {
            "schema_version": SCHEMA_VERSION,
            "alert_id": self.alert_id,
            "rule": rule.id,
            "kind": rule.kind,
            "status": self.status,
            "severity": self.severity,
            "key": {
                "country": None if self.country == "any" else self.country,
                "actor": self.subject if rule.kind != "keyword" else None,
                "category": self.subject if rule.kind == "keyword" else None,
            },
            "window": {"start": _iso(self.window_start), "end": _iso(self.window_end)},
            "value": round(self.value, 3),
            "threshold": rule.threshold,
            "baseline": None if self.baseline is None else round(self.baseline, 3),
            "distinct_sources": self.distinct_sources,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Observation:
    alerts: tuple[Alert, ...]
    late: bool
    resend: tuple[tuple[str, dict[str, Any]], ...] = ()  # (topic, alert) emitted before for this article

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        """Every alert to send, as (topic, message): the new ones, then any to send again."""
        return [(a.rule.topic, a.to_json()) for a in self.alerts] + list(self.resend)


class AlertEngine:
    def __init__(self, rules: RuleSet, state: State) -> None:
        self._rules = {rule.id: rule for rule in rules.rules}
        self._lateness = rules.allowed_lateness
        self._state = state

    def observe(self, article: TaggedArticle) -> Observation:
        """Count a first occurrence, then judge every window the watermark has closed.

        A redelivery (the same input again after a crash) is counted at most
        once, and the alerts it raised the first time are sent again with the
        same ids: they may not have left before the crash.
        """
        resend = tuple(self._outbox().get(article.id, {}).get("alerts", ())) if article.redelivery else ()
        now = int(article.published_at.timestamp())
        watermark = self._state.get("wm")
        if watermark is not None and now < watermark - self._lateness:
            return Observation((), late=True, resend=resend)
        touched = self._count(article, now)
        active = set(self._state.get("active", ())) | touched
        alerts: list[Alert] = []
        if watermark is None:
            self._state["wm0"] = now  # surges need this much history before a baseline means anything
        if watermark is None or now > watermark:
            self._state["wm"] = now
            for key in sorted(active):
                alerts += self._judge(key, now - self._lateness, active)
        if set(self._state.get("active", ())) != active:
            self._state["active"] = sorted(active)
        if alerts:
            self._record(article.id, now, alerts)
        return Observation(tuple(alerts), late=False, resend=resend)

    def reach(self, article: TaggedArticle) -> None:
        """A copy of a counted story: its outlet joins the story's breadth, and nothing is counted.

        The breadth shows in the evidence of the windows that close later, so
        an analyst sees that one story was carried by ten outlets.
        """
        story, outlet = article.story_id, article.source
        for key in self._state.get("active", ()):
            state = self._state.get(key)
            if state is None:
                continue
            buckets = dict(state["b"])
            for bucket, slot in state["b"].items():
                carried = slot.get("reach", {})
                if story in slot["ids"] and outlet not in carried.get(story, ()):
                    buckets[bucket] = slot | {"reach": carried | {story: sorted({*carried.get(story, ()), outlet})}}
            if buckets != state["b"]:
                self._state[key] = state | {"b": buckets}

    def _outbox(self) -> dict[str, Any]:
        outbox: dict[str, Any] = self._state.get("out") or {}
        return outbox

    def _record(self, article_id: str, now: int, alerts: list[Alert]) -> None:
        """Keep the alerts an article raised for a day of event time, to send again on its redelivery."""
        kept = {k: v for k, v in self._outbox().items() if v["t"] >= now - 86400}
        kept[article_id] = {"t": now, "alerts": [(a.rule.topic, a.to_json()) for a in alerts]}
        self._state["out"] = kept

    def _count(self, article: TaggedArticle, now: int) -> set[str]:
        tags = article.tags
        about = {c.code for c in tags.countries if c.primary or c.count >= 2}
        touched: set[str] = set()
        for rule in self._rules.values():
            if tags.relevance < rule.min_relevance:
                continue
            contribution = _contribution(rule, article)
            if contribution is None:
                continue
            value, matches = contribution
            countries = ["any"] if "any" in rule.countries else sorted(about.intersection(rule.countries))
            subject = rule.category if rule.kind == "keyword" else "+".join(rule.actors)
            evidence = {
                "id": article.id,
                "url": article.url,
                "title": article.title,
                "source": article.source,
                "published_at": utc_iso(article.published_at),
                "matches": matches,
                "_value": value,
            }
            for country in countries:
                key = f"key:{rule.id}|{country}|{subject}"
                self._add(key, now - now % rule.slide, value, article.source, evidence)
                touched.add(key)
        return touched

    def _add(self, key: str, bucket: int, value: float, source: str, evidence: dict[str, Any]) -> None:
        state = self._state.get(key) or {"b": {}, "sev": None, "fired": None, "closed": None, "quiet": 0}
        slot = state["b"].get(str(bucket)) or {"v": 0.0, "n": 0, "src": [], "ev": [], "ids": []}
        if evidence["id"] in slot["ids"]:
            return  # the same article again (a redelivery after a crash): counted once
        ranked = sorted([*slot["ev"], evidence], key=lambda e: (-e["_value"], e["id"]))
        state["b"] = state["b"] | {
            str(bucket): {
                "v": slot["v"] + value,
                "n": slot["n"] + 1,
                "src": sorted(set(slot["src"]) | {source}),
                "ev": ranked[:EVIDENCE_PER_BUCKET],
                "ids": [*slot["ids"], evidence["id"]],
            }
        }
        self._state[key] = state

    def _judge(self, key: str, horizon: int, active: set[str]) -> list[Alert]:
        """Judge each window of ``key`` that ended at or before ``horizon``, oldest first."""
        rule_id, country, subject = key.removeprefix("key:").split("|", 2)
        rule = self._rules.get(rule_id)
        state = self._state.get(key)
        if rule is None or state is None:  # a rule removed from the file, or nothing left to judge
            active.discard(key)
            return []
        last_end = horizon - horizon % rule.slide
        if state["closed"] is not None and last_end <= state["closed"]:
            return []
        buckets = {int(b): slot for b, slot in state["b"].items()}
        end = (state["closed"] if state["closed"] is not None else min(buckets, default=last_end)) + rule.slide
        alerts: list[Alert] = []
        while end <= last_end:
            if state["sev"] is None and not any(end - rule.window <= b < end for b in buckets):
                later = [b for b in buckets if b >= end]
                if not later:
                    break
                end = min(later) + rule.slide  # no window in between holds anything
                continue
            alerts += self._window(rule, country, subject, state, buckets, end)
            end += rule.slide
        state["closed"] = last_end
        keep_from = last_end - rule.window * (1 + rule.baseline_windows)
        state["b"] = {str(b): slot for b, slot in buckets.items() if b >= keep_from}
        if not state["b"] and state["sev"] is None:
            active.discard(key)
            del self._state[key]
        else:
            self._state[key] = state
        return alerts

    def _window(
        self, rule: Rule, country: str, subject: str, state: dict[str, Any], buckets: dict[int, Any], end: int
    ) -> list[Alert]:
        start = end - rule.window
        inside = [slot for b, slot in buckets.items() if start <= b < end]
        value = sum(slot["v"] for slot in inside)
        count = sum(slot["n"] for slot in inside)
        sources = sorted({s for slot in inside for s in slot["src"]})
        baseline = None
        if rule.kind == "surge":
            previous = [
                sum(
                    slot["n"]
                    for b, slot in buckets.items()
                    if start - (i + 1) * rule.window <= b < start - i * rule.window
                )
                for i in range(rule.baseline_windows)
            ]
            baseline = sum(previous) / rule.baseline_windows
        warm = end - self._state.get("wm0", end) >= rule.window * (1 + rule.baseline_windows)
        level = _level(rule, value, count, baseline, len(sources)) if rule.kind != "surge" or warm else None
        current = state["sev"]
        ranks = {s.name: i for i, s in enumerate(rule.severities)}
        measure = count if rule.kind != "keyword" else value

        def alert(status: str, severity: str) -> Alert:
            ranked = sorted((e for slot in inside for e in slot["ev"]), key=lambda e: (-e["_value"], e["id"]))
            carried = {story: set(outlets) for slot in inside for story, outlets in slot.get("reach", {}).items()}
            evidence = tuple(
                {k: v for k, v in e.items() if k != "_value"} | {"outlets": 1 + len(carried.get(e["id"], set()))}
                for e in ranked[:EVIDENCE_PER_ALERT]
            )
            digest = hashlib.sha256(f"{rule.id}|{country}|{subject}|{end}|{status}|{severity}".encode()).hexdigest()
            return Alert(
                digest[:24],
                rule,
                status,
                severity,
                country,
                subject,
                start,
                end,
                measure,
                baseline,
                len(sources),
                evidence,
            )

        if level is not None:
            state["quiet"] = 0
            escalated = current is None or ranks[level] > ranks.get(current, -1)
            cooled = state["fired"] is not None and end - state["fired"] >= rule.cooldown
            if escalated or cooled:
                state["sev"], state["fired"] = level, end
                return [alert("firing", level)]
            return []
        if current is None:
            return []
        if measure < rule.resolve_below * rule.threshold:
            state["quiet"] += 1
            if state["quiet"] * rule.slide >= rule.window:
                state["sev"], state["fired"], state["quiet"] = None, None, 0
                return [alert("resolved", current)]
        else:
            state["quiet"] = 0
        return []


def _level(rule: Rule, value: float, count: int, baseline: float | None, sources: int) -> str | None:
    if sources < rule.min_sources:
        return None
    measure = value if rule.kind == "keyword" else count
    if baseline is not None and count < rule.ratio * baseline:
        return None
    reached = [s.name for s in rule.severities if measure >= s.at * rule.threshold]
    return reached[-1] if reached else None


def _contribution(rule: Rule, article: TaggedArticle) -> tuple[float, list[dict[str, str]]] | None:
    """What one article adds to a rule's window, and the matches that show why."""
    texts = {"title": article.text.title, "body": article.text.body}
    if rule.kind == "keyword":
        tag = next((k for k in article.tags.keywords if k.category == rule.category), None)
        if tag is None or tag.score <= 0:
            return None
        hits = sorted(tag.hits, key=lambda h: (-h.weight, h.mention.field != "title", h.mention.start))[:3]
        return tag.score, [{"term": h.term, "snippet": _snippet(texts, h.mention)} for h in hits]
    wanted = set(rule.actors)
    actors = [a for a in article.tags.actors if a.confidence == 1.0 and (a.id in wanted or wanted & set(a.groups))]
    if not actors:
        return None
    mentions = sorted((m for a in actors for m in a.mentions), key=lambda m: (m.field != "title", m.start))[:3]
    return 1.0, [{"term": m.text, "snippet": _snippet(texts, m)} for m in mentions]


def _snippet(texts: dict[str, str], mention: Mention) -> str:
    text = texts[mention.field]
    start, end = max(0, mention.start - SNIPPET_RADIUS), min(len(text), mention.end + SNIPPET_RADIUS)
    snippet = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(text) else "")


def _iso(epoch: int) -> str:
    return utc_iso(datetime.fromtimestamp(epoch, UTC))
