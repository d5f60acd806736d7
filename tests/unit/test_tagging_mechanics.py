"""The matcher and tagger on a small knowledge folder of our own: the mechanics, independent of the data."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from sahelwatch.core.tagging import KnowledgeError, Tagger
from sahelwatch.core.tagging.fold import fold
from sahelwatch.core.tagging.knowledge import load_knowledge

HEADERS = {
    kind: {"kind": kind, "version": "2026.11.0", "description": f"test {kind}"}
    for kind in ("actors", "places", "lexicon")
}
ACTORS = [
    {
        "id": "goita",
        "name": "Assimi Goïta",
        "type": "person",
        "country": "ML",
        "groups": ["sahel_juntas"],
        "aliases": [{"text": "Assimi Goïta", "lang": "any"}, {"text": "Goïta", "lang": "any"}],
        "source": "test",
    },
    {
        "id": "traore",
        "name": "Ibrahim Traoré",
        "type": "person",
        "country": "BF",
        "groups": ["sahel_juntas"],
        "aliases": [
            {"text": "Ibrahim Traoré", "lang": "any"},
            {"text": "Traoré", "lang": "any", "context": ["Burkina", "captain"], "exclude": ["Adama Traoré"]},
        ],
        "source": "test",
    },
    {
        "id": "un",
        "name": "United Nations",
        "type": "international_org",
        "country": None,
        "aliases": [{"text": "UN", "lang": "any", "case_sensitive": True}],
        "source": "test",
    },
]
PLACES = [
    {
        "id": "ne",
        "geonameid": 2440476,
        "name": "Niger",
        "kind": "country",
        "country": "NE",
        "lat": 17.6,
        "lon": 8.1,
        "aliases": [{"text": "Niger", "lang": "any"}, {"text": "Nigerien", "lang": "en", "demonym": True}],
        "source": "test",
    },
    {
        "id": "ng",
        "geonameid": 2328926,
        "name": "Nigeria",
        "kind": "country",
        "country": "NG",
        "lat": 10.0,
        "lon": 8.0,
        "aliases": [{"text": "Nigeria", "lang": "any"}],
        "source": "test",
    },
    {
        "id": "ng.niger-state",
        "geonameid": 2328925,
        "name": "Niger State",
        "kind": "region",
        "country": "NG",
        "lat": 10.0,
        "lon": 6.0,
        "aliases": [{"text": "Niger State", "lang": "en"}],
        "source": "test",
    },
    {
        "id": "ml",
        "geonameid": 2453866,
        "name": "Mali",
        "kind": "country",
        "country": "ML",
        "lat": 17.0,
        "lon": -4.0,
        "aliases": [{"text": "Mali", "lang": "any"}],
        "source": "test",
    },
    {
        "id": "niamey",
        "geonameid": 2440485,
        "name": "Niamey",
        "kind": "city",
        "country": "NE",
        "lat": 13.5,
        "lon": 2.1,
        "aliases": [{"text": "Niamey", "lang": "any"}],
        "source": "test",
    },
]
LEXICON = [
    {
        "id": "threat.strong",
        "category": "threat_of_force",
        "lang": "en",
        "weight": 4,
        "terms": ["military intervention"],
    },
    {
        "id": "threat.weak",
        "category": "threat_of_force",
        "lang": "en",
        "weight": 1,
        "terms": ["intervention"],
        "context": ["troops", "army", "Niger"],
        "exclude": ["medical"],
    },
    {"id": "coup", "category": "coup_junta", "lang": "fr", "weight": 3, "terms": ["junte", "coup d'État"]},
]


def write_folder(folder: Path, **overrides: list[object]) -> Path:
    for kind, entries in (("actors", ACTORS), ("places", PLACES), ("lexicon", LEXICON)):
        lines = [HEADERS[kind], *overrides.get(kind, entries)]
        (folder / f"{kind}.jsonl").write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    return folder


@pytest.fixture
def tagger(tmp_path: Path) -> Tagger:
    return Tagger(load_knowledge(write_folder(tmp_path)))


def test_fold_keeps_positions() -> None:
    assert fold("Goïta à NIAMEY") == "goita a niamey"
    assert len(fold("İstanbul Œuvre")) == len("İstanbul Œuvre")


def test_offsets_point_into_the_original_text(tagger: Tagger) -> None:
    body = "Le colonel GOÏTA a parlé à Niamey."
    tags = tagger.tag("", body)
    (goita,) = tags.actors
    (mention,) = goita.mentions
    assert body[mention.start : mention.end] == mention.text == "GOÏTA"
    assert [p.name for p in tags.places] == ["Niamey"]


def test_longest_match_wins_and_words_are_whole(tagger: Tagger) -> None:
    tags = tagger.tag("", "Floods hit Niger State in Nigeria; Somalia and Nigerians were not concerned.")
    assert {c.code for c in tags.countries} == {"NG"}
    assert {p.id for p in tags.places} == {"ng.niger-state", "ng"}


def test_demonyms_count_for_the_country_and_the_title_decides_primary(tagger: Tagger) -> None:
    tags = tagger.tag("Nigerien junta speaks", "Mali and Mali and Mali. The Nigerien leaders met in Niamey.")
    by_code = {c.code: c for c in tags.countries}
    assert len(by_code["NE"].mentions) == 3 and len(by_code["ML"].mentions) == 3
    assert by_code["NE"].primary and not by_code["ML"].primary  # a title mention counts triple


def test_acronyms_that_are_words_match_only_in_their_case(tagger: Tagger) -> None:
    assert [a.id for a in tagger.tag("", "The UN said it would help.").actors] == ["un"]
    assert tagger.tag("", "Il y a un problème, un seul.").actors == ()


def test_ambiguous_forms_lose_confidence_without_context_and_drop_on_excluded_senses(tagger: Tagger) -> None:
    with_context = tagger.tag("", "Captain Traoré addressed the nation in Burkina.").actors
    without = tagger.tag("", "Traoré scored twice on Saturday.").actors
    footballer = tagger.tag("", "Adama Traoré scored twice for Wolves.").actors
    assert [a.confidence for a in with_context] == [1.0]
    assert [a.confidence for a in without] == [0.4]
    assert footballer == ()


def test_lexicon_needs_context_and_respects_excluded_senses(tagger: Tagger) -> None:
    strong = tagger.tag("", "ECOWAS threatened a military intervention in Niger.").keywords
    weak = tagger.tag("", "Leaders discussed an intervention to restore order, with troops ready.").keywords
    medical = tagger.tag("", "The patient needed a medical intervention, said the army doctor.").keywords
    unrelated = tagger.tag("", "An intervention was discussed at the meeting.").keywords
    assert [(k.category, k.score) for k in strong] == [("threat_of_force", 4)]
    assert [(k.category, k.score) for k in weak] == [("threat_of_force", 1)]
    assert medical == () and unrelated == ()


def test_relevance_needs_sahel_evidence(tagger: Tagger) -> None:
    sahel = tagger.tag("Niger junta", "A military intervention in Niger would be resisted, the junte said in Niamey.")
    elsewhere = tagger.tag("", "A military intervention was debated; the junte in another country said no.")
    assert sahel.relevance > 0.6
    assert elsewhere.relevance < 0.2


def test_bad_knowledge_names_the_file_line_and_entry(tmp_path: Path) -> None:
    broken = [*ACTORS[:1], {**ACTORS[1], "type": "wizard"}]
    with pytest.raises(KnowledgeError, match=r"actors\.jsonl:3 \(entry 'traore'\): type"):
        load_knowledge(write_folder(tmp_path, actors=broken))
    write_folder(tmp_path)
    (tmp_path / "places.jsonl").write_bytes(orjson.dumps(HEADERS["places"]) + b"\n{not json")
    with pytest.raises(KnowledgeError, match=r"places\.jsonl:2: not JSON"):
        load_knowledge(tmp_path)


def test_duplicate_ids_and_missing_headers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="already used on line 2"):
        load_knowledge(write_folder(tmp_path, actors=[ACTORS[0], ACTORS[0]]))
    write_folder(tmp_path)
    (tmp_path / "lexicon.jsonl").write_bytes(orjson.dumps(LEXICON[0]))
    with pytest.raises(KnowledgeError, match=r"lexicon\.jsonl:1"):
        load_knowledge(tmp_path)
