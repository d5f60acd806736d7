"""The alert engine on articles tagged by the real tagger, with small rules of our own."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from sahelwatch.core.alerts import Alert, AlertEngine, RulesError, load_rules
from sahelwatch.core.alerts.rules import RuleSet
from sahelwatch.core.model import Duplicate, Origin, TaggedArticle
from sahelwatch.core.pipeline import Pipeline
from sahelwatch.core.preparation import Preparation

T0 = datetime(2023, 8, 10, 12, tzinfo=UTC)
RULES = """
version = "2026.11.1"
allowed_lateness = "10m"

[[rules]]
id = "threat"
kind = "keyword"
category = "threat_of_force"
countries = ["NE"]
window = "1h"
slide = "15m"
threshold = 20
min_sources = 2
min_relevance = 0.3
severities = [{ name = "warning", at = 1.0 }, { name = "critical", at = 2.0 }]
cooldown = "6h"
resolve_below = 0.3
topic = "intervention"

[[rules]]
id = "wagner"
kind = "surge"
actors = ["wagner_africa_corps"]
countries = ["ML"]
window = "1h"
slide = "30m"
threshold = 3
ratio = 3
baseline_windows = 4
min_sources = 2
topic = "actors"
"""
THREAT = "ECOWAS warned of a military intervention in Niger if the junta in Niamey does not restore Bazoum."
WAGNER = "Wagner mercenaries were deployed near Ménaka in Mali, where the Wagner Group backs the Malian army."
ROUTINE_MALI = "The school year opened in Bamako, Mali, with new classrooms in several districts of the capital."
_ids = itertools.count()


@pytest.fixture
def rules(tmp_path: Path) -> RuleSet:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return load_rules(path)


def article(body: str, at: datetime, source: str, title: str = "") -> TaggedArticle:
    n = next(_ids)
    raw = orjson.dumps(
        {
            "id": f"a{n}",
            "url": f"https://{source}/{n}",
            "title": title or body[:40],
            "published_at": at.isoformat(),
            "source": source,
            "body": body,
        }
    )
    return Preparation(2**21).prepare(raw, at + timedelta(hours=1), Origin("t", 0, n))


def run(rules: RuleSet, articles: list[TaggedArticle], state: dict[str, Any] | None = None) -> list[Alert]:
    state = {} if state is None else state
    return [alert for a in articles for alert in AlertEngine(rules, state).observe(a).alerts]


def clock(at: datetime) -> TaggedArticle:
    """An article with nothing to count: it only moves the watermark."""
    return article("Rain is expected over the weekend in the coastal towns, forecasters said.", at, "weather.example")


def test_a_threshold_fires_once_its_window_closes_with_evidence(rules: RuleSet) -> None:
    burst = [article(THREAT, T0 + timedelta(minutes=5 * i), f"outlet{i}.example") for i in range(3)]
    assert run(rules, burst) == []  # the window is still open
    alerts = run(rules, [*burst, clock(T0 + timedelta(hours=2))])
    threat = [a for a in alerts if a.rule.id == "threat" and a.status == "firing"]
    assert len(threat) == 1
    alert = threat[0].to_json()
    assert alert["key"] == {"country": "NE", "actor": None, "category": "threat_of_force"}
    assert alert["distinct_sources"] == 3 and 20 <= alert["value"] < 40
    assert {e["source"] for e in alert["evidence"]} == {"outlet0.example", "outlet1.example", "outlet2.example"}
    assert any("military intervention" in m["snippet"] for e in alert["evidence"] for m in e["matches"])


def test_one_outlet_cannot_trip_a_rule_alone(rules: RuleSet) -> None:
    burst = [article(THREAT, T0 + timedelta(minutes=5 * i), "same.example") for i in range(6)]
    assert run(rules, [*burst, clock(T0 + timedelta(hours=2))]) == []


def test_escalation_fires_at_once_and_a_steady_level_waits_for_the_cooldown(rules: RuleSet) -> None:
    state: dict[str, Any] = {}
    warning = [article(THREAT, T0 + timedelta(minutes=i), f"w{i}.example") for i in range(3)]  # about 9 each
    first = run(rules, [*warning, clock(T0 + timedelta(minutes=40))], state)
    critical = [article(THREAT, T0 + timedelta(minutes=45 + i), f"c{i}.example") for i in range(2)]
    second = run(rules, [*critical, clock(T0 + timedelta(hours=3))], state)
    severities = [a.severity for a in first + second if a.rule.id == "threat" and a.status == "firing"]
    assert severities == ["warning", "critical"]


def test_a_quiet_window_resolves_a_firing_key(rules: RuleSet) -> None:
    burst = [article(THREAT, T0 + timedelta(minutes=5 * i), f"o{i}.example") for i in range(3)]
    alerts = run(rules, [*burst, clock(T0 + timedelta(hours=4))])
    statuses = [(a.status, a.severity) for a in alerts if a.rule.id == "threat"]
    assert statuses == [("firing", "warning"), ("resolved", "warning")]


def test_late_articles_are_flagged_and_change_nothing(rules: RuleSet) -> None:
    state: dict[str, Any] = {}
    engine = AlertEngine(rules, state)
    engine.observe(clock(T0 + timedelta(hours=5)))
    late = engine.observe(article(THREAT, T0, "late.example"))
    assert late.late and late.alerts == ()
    assert not any(key.startswith("key:threat") for key in state)


def test_arrival_order_within_the_lateness_does_not_change_the_alerts(rules: RuleSet) -> None:
    articles = [article(THREAT, T0 + timedelta(minutes=3 * i), f"s{i % 4}.example") for i in range(12)]
    articles += [article(WAGNER, T0 + timedelta(minutes=4 * i + 1), f"m{i % 3}.example") for i in range(6)]
    articles.sort(key=lambda a: a.published_at)
    reference = [a.to_json() for a in run(rules, [*articles, clock(T0 + timedelta(hours=6))])]
    shuffled = list(articles)
    for start in range(0, len(shuffled), 3):  # reorder within spans of a few minutes
        chunk = shuffled[start : start + 3]
        random.Random(start).shuffle(chunk)
        shuffled[start : start + 3] = chunk
    again = [a.to_json() for a in run(rules, [*shuffled, clock(T0 + timedelta(hours=6))])]
    assert reference and again == reference


def copy_of(original: TaggedArticle, source: str) -> TaggedArticle:
    copy = article(THREAT, original.published_at, source)
    copy.duplicate = Duplicate(of=original.id, kind="exact", matched_on="body_sha256", similarity=1.0)
    copy.story_id = original.id
    return copy


def test_duplicates_never_count_but_widen_the_story_breadth(rules: RuleSet) -> None:
    pipeline = Pipeline(rules=rules)
    state: dict[str, Any] = {}
    originals = [article(THREAT, T0 + timedelta(minutes=5 * i), f"o{i}.example") for i in range(3)]
    for original in originals:
        pipeline.alert(original, state)
    counts = [(slot["v"], slot["n"]) for slot in state["key:threat|NE|threat_of_force"]["b"].values()]
    for n in range(6):
        assert pipeline.alert(copy_of(originals[0], f"copy{n}.example"), state).alerts == ()
    assert [(slot["v"], slot["n"]) for slot in state["key:threat|NE|threat_of_force"]["b"].values()] == counts
    (alert,) = [a for a in pipeline.alert(clock(T0 + timedelta(hours=2)), state).alerts if a.status == "firing"]
    outlets = {e["id"]: e["outlets"] for e in alert.to_json()["evidence"]}
    assert outlets == {originals[0].id: 7, originals[1].id: 1, originals[2].id: 1}


def test_intervention_in_nigeria_news_does_not_count_for_niger(rules: RuleSet) -> None:
    body = "Nigeria's army chief ruled out a military intervention in Lagos, where protests continue, Abuja said."
    burst = [article(body, T0 + timedelta(minutes=5 * i), f"ng{i}.example") for i in range(5)]
    assert [a for a in run(rules, [*burst, clock(T0 + timedelta(hours=2))]) if a.rule.id == "threat"] == []


def test_a_surge_fires_for_a_quiet_actor_and_not_for_steady_coverage(rules: RuleSet) -> None:
    steady = [article(WAGNER, T0 + timedelta(minutes=30 * i), f"m{i % 3}.example") for i in range(16)]
    assert [a for a in run(rules, [*steady, clock(T0 + timedelta(hours=10))]) if a.rule.id == "wagner"] == []
    quiet_then_burst = [article(ROUTINE_MALI, T0 + timedelta(minutes=30 * i), "m.example") for i in range(10)]
    quiet_then_burst += [article(WAGNER, T0 + timedelta(hours=6, minutes=5 * i), f"b{i}.example") for i in range(5)]
    surge = [a for a in run(rules, [*quiet_then_burst, clock(T0 + timedelta(hours=9))]) if a.rule.id == "wagner"]
    firing = [a for a in surge if a.status == "firing"]
    assert len(firing) == 1 and firing[0].baseline == 0 and firing[0].value >= 3
    assert firing[0].to_json()["key"] == {"country": "ML", "actor": "wagner_africa_corps", "category": None}


def test_a_burst_on_a_busy_baseline_is_no_surge(rules: RuleSet) -> None:
    busy = [article(WAGNER, T0 + timedelta(minutes=10 * i), f"m{i % 4}.example") for i in range(30)]
    busy += [article(WAGNER, T0 + timedelta(hours=5, minutes=2 * i), f"b{i}.example") for i in range(6)]
    firing = [a for a in run(rules, [*busy, clock(T0 + timedelta(hours=8))]) if a.rule.id == "wagner"]
    assert [a for a in firing if a.status == "firing"] == []


def test_alert_ids_are_deterministic(rules: RuleSet) -> None:
    burst = [article(THREAT, T0 + timedelta(minutes=5 * i), f"o{i}.example") for i in range(3)]
    ids = [[a.alert_id for a in run(rules, [*burst, clock(T0 + timedelta(hours=2))])] for _ in range(2)]
    assert ids[0] and ids[0] == ids[1]


def test_the_default_rules_load() -> None:
    rules = load_rules()
    assert {r.kind for r in rules.rules} == {"keyword", "actor", "surge"}
    assert all(r.window % r.slide == 0 for r in rules.rules)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (RULES.replace('version = "2026.11.1"', "version = 1"), "version"),
        (RULES.replace("threshold = 20", "threshold = -1"), "rule 'threat'"),
        (RULES.replace('kind = "surge"', 'kind = "magic"'), "rule 'wagner'"),
        (RULES.replace('slide = "15m"', 'slide = "7m"'), "whole number of slides"),
        ("not = toml = at all", "not valid TOML"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(path)


def test_an_article_delivered_twice_counts_once(rules: RuleSet) -> None:
    burst = [article(THREAT, T0 + timedelta(minutes=5 * i), f"o{i}.example") for i in range(2)]  # about 18: below 20
    redelivered = [burst[0], burst[1], burst[1], burst[0], clock(T0 + timedelta(hours=2))]
    assert [a for a in run(rules, redelivered) if a.rule.id == "threat"] == []


def test_a_redelivered_article_sends_its_alerts_again_with_the_same_ids(rules: RuleSet) -> None:
    state: dict[str, Any] = {}
    burst = [article(THREAT, T0 + timedelta(minutes=5 * i), f"o{i}.example") for i in range(3)]
    closing = clock(T0 + timedelta(hours=2))
    first = [AlertEngine(rules, state).observe(a) for a in [*burst, closing]][-1]
    assert first.alerts
    closing.redelivery = True  # the worker crashed before committing it: it comes again
    again = AlertEngine(rules, state).observe(closing)
    assert again.alerts == ()
    assert [m["alert_id"] for _, m in again.messages()] == [a.alert_id for a in first.alerts]
    burst[0].redelivery = True
    assert AlertEngine(rules, state).observe(burst[0]).messages() == []  # it raised nothing itself


def test_an_oversized_rules_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("# padding\n" * 200_000)
    with pytest.raises(RulesError, match="over the 1,048,576-byte limit"):
        load_rules(path)
