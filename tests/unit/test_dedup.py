from sahelwatch.core.dedup import ExactDeduplicator, body_fingerprint


def test_fingerprint_ignores_case_and_whitespace_only() -> None:
    assert body_fingerprint("Niger  junta\nsays") == body_fingerprint("niger junta says")
    assert body_fingerprint("Niger junta says") != body_fingerprint("Nigeria junta says")


def test_first_occurrence_then_duplicates_by_id_and_by_body() -> None:
    state: dict[str, str] = {}
    dedup = ExactDeduplicator(state)
    assert dedup.check("a", "h1", body_is_empty=False) is None
    by_id = dedup.check("a", "h2", body_is_empty=False)
    assert by_id is not None and (by_id.of, by_id.matched_on, by_id.kind) == ("a", "id", "exact")
    by_body = dedup.check("b", "h1", body_is_empty=False)
    assert by_body is not None and (by_body.of, by_body.matched_on) == ("a", "body_sha256")
    # the duplicate's own id now resolves to the first article as well
    again = dedup.check("b", "h3", body_is_empty=False)
    assert again is not None and again.of == "a"
    assert dedup.check("c", "h4", body_is_empty=False) is None


def test_empty_bodies_are_never_matched_by_hash() -> None:
    dedup = ExactDeduplicator({})
    empty = body_fingerprint("")
    assert dedup.check("a", empty, body_is_empty=True) is None
    assert dedup.check("b", empty, body_is_empty=True) is None


def test_state_survives_a_new_deduplicator() -> None:
    state: dict[str, str] = {}
    ExactDeduplicator(state).check("a", "h1", body_is_empty=False)
    verdict = ExactDeduplicator(state).check("z", "h1", body_is_empty=False)
    assert verdict is not None and verdict.of == "a"
