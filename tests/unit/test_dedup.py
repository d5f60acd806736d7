"""Deduplication on hand-made pairs: every kind of copy is caught, different stories are not merged."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sahelwatch.core.dedup import Candidate, Deduplicator, Index, body_fingerprint, build_index
from sahelwatch.core.dedup import minhash as minhash_module
from sahelwatch.core.dedup.minhash import signature

T0 = datetime(2023, 8, 10, 12, tzinfo=UTC)
_positions = itertools.count()

STORY = [
    "West African leaders meeting in Abuja on Thursday ordered the activation of the regional standby force and "
    "asked their defence chiefs to prepare it for possible deployment in Niger, two weeks after the coup.",
    "The decision came at the end of an extraordinary summit that lasted most of the day. The leaders did not say how "
    "many soldiers would take part or when they might move, and several delegations insisted on dialogue.",
    "The chairman of the bloc told reporters that no option had been taken off the table, including the use of force "
    "as a last resort, while mediators would keep talking to the officers who now run Niamey.",
    "In Niamey, supporters of the military council gathered in several districts as the news spread, waving flags "
    "and chanting slogans against the regional bloc and against the former colonial power.",
    "Aid agencies warned that sanctions imposed at the end of July were already cutting supplies of food and "
    "medicine, with hundreds of lorries waiting at closed border crossings in the south of the country.",
    "Diplomats said a meeting of the region's army chiefs would follow within days to turn the summit's order into "
    "a plan, and that envoys would return to Niamey before any troops were sent across the border.",
]
OTHER_ANGLE = [
    "Traders in the Niger capital say the price of rice has doubled since the borders closed, and many families now "
    "eat one meal a day while they wait to see whether regional troops will come.",
    "At the main market, shopkeepers described empty shelves and long queues for fuel. Several said they supported "
    "the officers in power but feared that a long standoff with the neighbours would ruin them.",
    "Electricity cuts have grown longer since the southern neighbour stopped its exports, leaving cold rooms without "
    "power and forcing butchers to sell their meat at a loss before it spoils in the heat.",
    "Economists in the capital warned that the country's banks were running short of cash after the regional central "
    "bank froze its accounts, and that salaries for civil servants might be paid late this month.",
]


def body(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def candidate(
    article_id: str,
    text: str,
    *,
    url: str | None = None,
    source: str = "a.example",
    when: datetime = T0,
    origin: str | None = None,
) -> Candidate:
    return Candidate(
        id=article_id,
        canonical_url=url or f"https://{source}/{article_id}",
        source=source,
        published_at=when,
        body=text,
        body_sha256=body_fingerprint(text),
        origin=origin or f"articles.raw/0/{next(_positions)}",
        signature=signature(text),
    )


@pytest.fixture
def dedup() -> Deduplicator:
    deduplicator = Deduplicator({}, Index())
    first = deduplicator.check(candidate("orig", body(STORY)), T0)
    assert first.duplicate is None and first.story_id == "orig"
    return deduplicator


def verdict_of(dedup: Deduplicator, text: str, **kwargs: object) -> tuple[str, str, float] | None:
    verdict = dedup.check(candidate("copy", text, source="b.example", **kwargs), T0)  # type: ignore[arg-type]
    d = verdict.duplicate
    return None if d is None else (d.kind, d.of, d.similarity)


def test_the_same_body_under_another_headline_or_outlet_is_exact(dedup: Deduplicator) -> None:
    assert verdict_of(dedup, body(STORY)) == ("exact", "orig", 1.0)


def test_case_and_whitespace_changes_are_exact(dedup: Deduplicator) -> None:
    assert verdict_of(dedup, body(STORY).upper().replace(" ", "  ")) == ("exact", "orig", 1.0)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(body(STORY).replace("defence", "defense").replace("lorries", "trucks"), id="spelling-fix"),
        pytest.param(body([*STORY[:3], OTHER_ANGLE[0], *STORY[3:]]), id="added-paragraph"),
        pytest.param(body(STORY[:2] + STORY[3:]), id="removed-paragraph"),
        pytest.param(body(STORY[:4]), id="trimmed-ending"),
        pytest.param(
            "Abuja, 10 August (Wire) - " + body(STORY) + "\n\nAdditional reporting by staff.", id="wire-frame"
        ),
    ],
)
def test_near_copies_are_caught(dedup: Deduplicator, variant: str) -> None:
    kind, of, similarity = verdict_of(dedup, variant) or ("none", "", 0.0)
    assert (kind, of) == ("near", "orig")
    assert 0.2 <= similarity < 1.0


def test_a_different_story_on_the_same_event_is_not_merged(dedup: Deduplicator) -> None:
    assert verdict_of(dedup, body(OTHER_ANGLE)) is None


def test_same_url_with_new_text_is_an_update(dedup: Deduplicator) -> None:
    revised = body([*STORY, "Update: the army chiefs will meet in Accra next week, officials said on Friday."])
    kind, of, similarity = verdict_of(dedup, revised, url="https://a.example/orig") or ("none", "", 0.0)
    assert (kind, of) == ("update", "orig")
    assert similarity > 0.8


def test_same_id_with_new_text_is_an_update_and_same_text_is_exact() -> None:
    dedup = Deduplicator({}, Index())
    dedup.check(candidate("x", body(STORY)), T0)
    update = dedup.check(candidate("x", body(STORY[:5])), T0).duplicate
    again = dedup.check(candidate("x", body(STORY)), T0).duplicate
    assert update is not None and (update.kind, update.matched_on) == ("update", "id")
    assert again is not None and (again.kind, again.matched_on) == ("exact", "id")


def test_syndication_breadth_is_kept_on_the_story(dedup: Deduplicator) -> None:
    for source in ("b.example", "c.example", "b.example"):
        verdict = dedup.check(candidate(f"copy-{source}", body(STORY), source=source), T0)
    assert verdict.story_id == "orig"
    assert verdict.story_sources == ("a.example", "b.example", "c.example")


def test_republishing_a_duplicate_resolves_to_the_first_article(dedup: Deduplicator) -> None:
    dedup.check(candidate("copy", body(STORY), source="b.example"), T0)
    again = dedup.check(candidate("copy", body(STORY), source="b.example"), T0).duplicate
    assert again is not None and (again.of, again.kind) == ("orig", "exact")


def test_retention_forgets_old_stories_and_expire_removes_them() -> None:
    state: dict[str, object] = {}
    dedup = Deduplicator(state, Index(), retention=timedelta(days=7))
    dedup.check(candidate("old", body(STORY)), T0)
    later = T0 + timedelta(days=8)
    assert dedup.expire(later.timestamp()) > 0
    assert not any("old" in str(value) for key, value in state.items() if key != "meta:watermark")
    assert dedup.check(candidate("new", body(STORY), when=later), later).duplicate is None
    assert dedup.check(candidate("newer", body(STORY), when=later), later).duplicate is not None


def test_dead_entries_are_ignored_before_any_sweep() -> None:
    state: dict[str, object] = {}
    dedup = Deduplicator(state, Index(), retention=timedelta(hours=1), sweep_per_article=0)
    dedup.check(candidate("old", body(STORY)), T0)
    later = T0 + timedelta(minutes=90)
    assert dedup.check(candidate("new", body(STORY), when=later), later).duplicate is None
    assert "story:old" in state


def test_the_event_time_watermark_sweeps_as_it_moves_and_ignores_future_dates() -> None:
    state: dict[str, object] = {}
    dedup = Deduplicator(state, Index(), retention=timedelta(days=1))
    dedup.check(candidate("d0", body(STORY)), T0)
    far_future = T0 + timedelta(days=400)
    dedup.check(candidate("future", body(OTHER_ANGLE), when=far_future), T0)
    assert "story:d0" in state  # a future-dated article moved no clock
    two_days = T0 + timedelta(days=2)
    dedup.check(candidate("d2", "A short note about something else entirely.", when=two_days), two_days)
    assert "story:d0" not in state


def test_each_article_sweeps_a_bounded_number_of_dead_entries() -> None:
    """A day's dead entries go a few at a time, not all behind one article."""
    state: dict[str, object] = {}
    dedup = Deduplicator(state, Index(), retention=timedelta(hours=1), sweep_per_article=4)
    for n in range(6):  # six stories, and a copy of each from another outlet (its id and URL pointers)
        text = f"Note {n} on the day's events in the capital."
        dedup.check(candidate(f"old{n}", text), T0)
        dedup.check(candidate(f"old{n}-copy", text, source="b.example"), T0)
    later = T0 + timedelta(hours=3)

    def old_entries() -> int:
        return sum("old" in key or "old" in str(value) for key, value in state.items())

    assert old_entries() == 18
    left = []
    for n in range(5):
        dedup.check(candidate(f"new{n}", f"A note on something else, number {n}.", when=later), later)
        left.append(old_entries())
    assert left == [14, 10, 6, 2, 0]


def test_short_texts_have_no_signature_and_are_never_near_copies() -> None:
    assert signature("Troops deployed.") is None
    dedup = Deduplicator({}, Index())
    dedup.check(candidate("a", "Niger junta closes airspace."), T0)
    assert dedup.check(candidate("b", "Niger junta reopens airspace."), T0).duplicate is None


def test_fingerprint_ignores_case_and_whitespace_only() -> None:
    assert body_fingerprint("Niger  junta\nsays") == body_fingerprint("niger junta says")
    assert body_fingerprint("Niger junta says") != body_fingerprint("Nigeria junta says")


def test_a_redelivery_of_the_same_input_position_is_not_a_duplicate_of_itself() -> None:
    dedup = Deduplicator({}, Index())
    first = dedup.check(candidate("x", body(STORY), origin="articles.raw/2/41"), T0)
    redelivered = dedup.check(candidate("x", body(STORY), origin="articles.raw/2/41"), T0)
    republished = dedup.check(candidate("x", body(STORY), origin="articles.raw/2/97"), T0)
    assert first.duplicate is None and redelivered.duplicate is None
    assert redelivered.story_id == "x"
    assert republished.duplicate is not None and republished.duplicate.kind == "exact"


def test_the_band_index_rebuilt_from_the_state_finds_the_same_near_copies() -> None:
    state: dict[str, object] = {}
    live = Deduplicator(state, Index())
    live.check(candidate("orig", body(STORY)), T0)
    live.check(candidate("other", body(OTHER_ANGLE)), T0)
    restarted = Deduplicator(state, build_index(state))  # a new worker: durable state, derived index
    verdict = restarted.check(candidate("copy", body(STORY[:2] + STORY[3:]), source="b.example"), T0)
    assert verdict.duplicate is not None
    assert (verdict.duplicate.kind, verdict.duplicate.of) == ("near", "orig")
    assert not any(key.startswith("band") for key in state)  # the index costs no durable writes


class _NoScan(dict[str, object]):
    """A state that fails any full read: the sweep must find dead entries through the index."""

    def items(self) -> Any:
        raise AssertionError("the sweep read the whole table")


def test_the_daily_sweep_deletes_dead_entries_without_reading_the_whole_state() -> None:
    state = _NoScan()
    dedup = Deduplicator(state, Index(), retention=timedelta(days=1))
    dedup.check(candidate("d0", body(STORY)), T0)
    dedup.check(candidate("d0-copy", body(STORY), source="b.example"), T0 + timedelta(hours=1))
    day_zero = set(dict.keys(state)) - {"meta:watermark"}
    three_days = T0 + timedelta(days=3)
    dedup.check(candidate("d3", body(OTHER_ANGLE), when=three_days), three_days)
    assert day_zero == {"story:d0", "id:d0-copy", "url:https://b.example/d0-copy"}
    assert not day_zero & set(dict.keys(state))
    assert "story:d3" in state
    assert dedup.check(candidate("again", body(STORY), when=three_days), three_days).duplicate is None


def test_a_restarted_deduplicator_still_sweeps_what_the_first_one_wrote() -> None:
    state: dict[str, object] = {}
    Deduplicator(state, Index(), retention=timedelta(days=1)).check(candidate("d0", body(STORY)), T0)
    day_zero = set(state) - {"meta:watermark"}
    restarted = Deduplicator(state, build_index(state), retention=timedelta(days=1))
    three_days = T0 + timedelta(days=3)
    restarted.check(candidate("d3", body(OTHER_ANGLE), when=three_days), three_days)
    assert day_zero and not day_zero & set(state)
    assert build_index(state).bands.entries() == restarted._index.bands.entries()  # the swept stories left them
    assert set(build_index(state).signatures) == set(restarted._index.signatures) == {"d3"}


def test_a_crash_that_kept_only_the_story_record_loses_nothing_of_it() -> None:
    state: dict[str, object] = {}
    Deduplicator(state, Index()).check(candidate("x", body(STORY), origin="articles.raw/1/7"), T0)
    for key in [k for k in state if not k.startswith(("story:", "meta:"))]:
        del state[key]  # the changelog kept the first write only
    restarted = Deduplicator(state, build_index(state))
    again = restarted.check(candidate("x", body(STORY), origin="articles.raw/1/7"), T0)
    assert again.redelivery and again.duplicate is None
    copy = restarted.check(candidate("y", body(STORY), source="b.example", origin="articles.raw/0/3"), T0)
    assert copy.duplicate is not None and (copy.duplicate.of, copy.duplicate.matched_on) == ("x", "body_sha256")


def test_a_redelivered_duplicate_gets_its_first_verdict_again() -> None:
    dedup = Deduplicator({}, Index())
    dedup.check(candidate("orig", body(STORY), origin="articles.raw/0/1"), T0)
    near = candidate("near", body(STORY[:2] + STORY[3:]), source="b.example", origin="articles.raw/2/5")
    first = dedup.check(near, T0)
    again = dedup.check(near, T0)
    assert first.duplicate is not None and first.duplicate.kind == "near"
    assert again.redelivery and again.duplicate == first.duplicate
    assert again.story_sources == first.story_sources == ("a.example", "b.example")
    republished = dedup.check(replace(near, origin="articles.raw/2/9"), T0)
    assert not republished.redelivery and republished.duplicate is not None
    assert republished.duplicate.kind == "update"  # a known id again, with another body than its story


def test_a_signature_sent_as_bytes_without_its_set_finds_the_same_near_copy() -> None:
    """The worker's intake sends the signature in a header; the lead check rebuilds the set it needs."""
    text = body(STORY[:2] + STORY[3:])
    sent = signature(text)
    assert sent is not None
    received = type(sent).from_bytes(sent.to_bytes())
    assert received.shingle_set is None
    assert (received.values == sent.values).all() and (received.lead == sent.lead).all()
    assert received.shingles == sent.shingles
    verdicts = []
    for sig in (sent, received):
        dedup = Deduplicator({}, Index())
        dedup.check(candidate("orig", body(STORY)), T0)
        copy = replace(candidate("copy", text, source="b.example"), signature=sig)
        verdicts.append(dedup.check(copy, T0).duplicate)
    assert verdicts[0] == verdicts[1] and verdicts[0] is not None and verdicts[0].kind == "near"


def test_a_truncated_signature_is_refused_with_its_size() -> None:
    sig = signature(body(STORY))
    assert sig is not None
    with pytest.raises(ValueError, match="needs at least 260 bytes, got 100"):
        type(sig).from_bytes(sig.to_bytes()[:100])


class _CountingState(dict[str, Any]):
    """A state that counts writes: each is a changelog record in the worker."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)


def test_a_first_occurrence_writes_only_its_story_and_the_watermark_moves_in_steps() -> None:
    state = _CountingState()
    dedup = Deduplicator(state, Index())
    for minute in range(20):
        when = T0 + timedelta(minutes=minute)
        text = " ".join(f"word{minute}x{i}" for i in range(40))  # twenty unrelated stories
        dedup.check(candidate(f"a{minute}", text, when=when), when)
    stories = [k for k in state.writes if not k.startswith("meta:")]
    assert stories == [f"story:a{minute}" for minute in range(20)]  # its URL and body are in the record
    assert state.writes.count("meta:watermark") == 2  # 20 minutes of event time, in steps of ten
    assert dedup.check(candidate("a3", "a republished text", when=T0), T0).duplicate is not None  # found by its id


def test_a_story_past_retention_is_not_found_by_its_id() -> None:
    dedup = Deduplicator({}, Index(), retention=timedelta(hours=1))
    dedup.check(candidate("x", body(STORY)), T0)
    later = T0 + timedelta(hours=3)
    verdict = dedup.check(candidate("x", body(OTHER_ANGLE), url="https://other.example/x", when=later), later)
    assert verdict.duplicate is None


class _CountingReads(dict[str, Any]):
    """A state that counts reads: each is a store lookup in the worker."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.append(key)
        return super().get(key, default)


def test_a_new_story_reads_nothing_from_the_state_and_a_copy_reads_the_story_it_matched() -> None:
    state = _CountingReads()
    dedup = Deduplicator(state, Index())
    dedup.check(candidate("orig", body(STORY)), T0)
    dedup.check(candidate("other", body(OTHER_ANGLE)), T0)
    assert state.reads == []
    copy = dedup.check(candidate("copy", body(STORY), url="https://a.example/orig", source="b.example"), T0)
    assert copy.duplicate is not None and (copy.duplicate.of, copy.duplicate.matched_on) == ("orig", "url")
    assert set(state.reads) == {"story:orig"}


def test_the_rebuilt_index_equals_the_running_one() -> None:
    state: dict[str, object] = {}
    running = Index()
    dedup = Deduplicator(state, running, retention=timedelta(days=1))
    dedup.check(candidate("d0", body(STORY)), T0)
    dedup.check(candidate("d0-copy", body(STORY), source="b.example"), T0 + timedelta(hours=1))
    dedup.check(candidate("short", "A short note."), T0 + timedelta(hours=2))
    dedup.check(candidate("d3", body(OTHER_ANGLE), when=T0 + timedelta(days=3)), T0 + timedelta(days=3))
    rebuilt = build_index(state)
    for part in ("stories", "urls", "bodies", "pointers", "watermark", "signatures"):
        assert getattr(rebuilt, part) == getattr(running, part), part
    assert rebuilt.bands.entries() == running.bands.entries()


def test_a_state_written_before_story_records_carried_their_url_still_finds_copies() -> None:
    """Earlier workers wrote each story's URL and body as pointers of their own: a changelog of theirs still works."""
    state: dict[str, object] = {}
    Deduplicator(state, Index()).check(candidate("x", body(STORY)), T0)
    story = dict(state["story:x"])  # type: ignore[call-overload]
    url = story.pop("url")
    state["story:x"] = story
    state[f"url:{url}"] = ["x", story["t"]]
    state[f"body:{story['sha']}"] = ["x", story["t"]]
    restarted = Deduplicator(state, build_index(state))
    by_url = restarted.check(candidate("x2", body(OTHER_ANGLE), url=url, source="b.example"), T0)
    by_body = restarted.check(candidate("x3", body(STORY), source="c.example"), T0)
    assert by_url.duplicate is not None and (by_url.duplicate.kind, by_url.duplicate.matched_on) == ("update", "url")
    assert by_body.duplicate is not None and by_body.duplicate.matched_on == "body_sha256"
    assert by_body.story_sources == ("a.example", "b.example", "c.example")


STABLE_TEXT = " ".join(f"Niamey word{i % 37} junta{i % 11} ECOWAS{i % 5}" for i in range(40))


def test_signatures_do_not_depend_on_the_process() -> None:
    """Stored signatures are compared with new ones after restarts and in other workers."""
    code = (
        "from sahelwatch.core.dedup.minhash import signature; import sys; "
        f"sys.stdout.write(signature({STABLE_TEXT!r}).to_bytes().hex())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], env=os.environ | {"PYTHONHASHSEED": "12345"}, capture_output=True, text=True
    )
    here = minhash_module.signature(STABLE_TEXT)
    assert here is not None
    assert other.stdout == here.to_bytes().hex()


WORD = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300).filter(
    lambda w: not any(c.isspace() for c in w)
)
SPACES = " \t\n\v\f\r\x1c\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"  # ASCII and not
SPACE = st.text(st.sampled_from(SPACES), min_size=1)


@given(words=st.lists(WORD, max_size=30), spaces=st.lists(SPACE, min_size=31, max_size=31))
@settings(max_examples=300, deadline=None)
def test_a_word_hashes_the_same_whatever_surrounds_it(words: list[str], spaces: list[str]) -> None:
    """Words are what ``str.split()`` makes of the text, whatever the spaces between them and at its
    ends (ASCII or not), and a word's hash depends only on the word, even past 256 bytes."""
    text = spaces[0] + "".join(word + space for word, space in zip(words, spaces[1:], strict=False))
    alone = [int(minhash_module._word_hashes(word)[0]) for word in text.split()]
    assert minhash_module._word_hashes(text).tolist() == alone
    assert len(set(alone)) == len(set(text.split()))  # distinct words, distinct hashes


def test_a_text_longer_than_the_powers_kept_hashes_its_words_as_they_hash_alone() -> None:
    words = [f"word{n}" for n in range(12_000)] + ["z" * 70_000]
    text = " ".join(words)
    assert len(text.encode()) > len(minhash_module._POWERS)
    assert minhash_module._word_hashes(text).tolist() == [int(minhash_module._word_hashes(w)[0]) for w in words]


def test_words_that_differ_only_past_their_256th_byte_or_by_a_swap_hash_apart() -> None:
    long = "x" * 300
    hashes = {int(minhash_module._word_hashes(w)[0]) for w in (long + "a", long + "b", "ab", "ba", "niger", "nigeria")}
    assert len(hashes) == 6
