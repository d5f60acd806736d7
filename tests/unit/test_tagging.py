"""Tagging with the package's own knowledge files: the seed expectations, the
disambiguation rules, and loose bounds on the labelled set (``make bench`` prints the figures)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from sahelwatch.core.cleaning import normalize_text
from sahelwatch.core.cleaning.boilerplate import strip_boilerplate
from sahelwatch.core.tagging import Tags, default_tagger
from tests.conftest import ROOT

LABELLED = [orjson.loads(line) for line in (ROOT / "tests/fixtures/tagging/labelled.jsonl").read_bytes().splitlines()]


def tag(body: str, title: str = "") -> Tags:
    return default_tagger().tag(title, body)


def codes(tags: Tags) -> set[str]:
    return {c.code for c in tags.countries}


def actors(tags: Tags, confident: bool = True) -> set[str]:
    return {a.id for a in tags.actors if not confident or a.confidence == 1.0}


def categories(tags: Tags) -> set[str]:
    return {k.category for k in tags.keywords}


def test_seed_page_after_cleaning(seeds: Path) -> None:
    body = strip_boilerplate(normalize_text((seeds / "001_77e9e5f2fc69e3d4.txt").read_text()))
    title = "Blinken calls on Niger junta to release ousted Nigerien President"
    tags = tag(body, title)
    found = codes(tags)
    assert {"NE", "ML", "BF", "NG", "US", "FR"} <= found
    assert tags.countries[0].code == "NE" and tags.countries[0].primary
    assert not {"LB", "IL"} & found
    expected = {
        "blinken",
        "bazoum",
        "nuland",
        "matthew_miller",
        "kirby",
        "tinubu",
        "ngelale",
        "abdoulaye_maiga",
        "goita",
        "traore",
        "ecowas",
        "us_state_dept",
    }
    assert expected <= actors(tags)
    assert "tchiani" not in actors(tags, confident=False)  # only the page's tag list names him
    bazoum = next(a for a in tags.actors if a.id == "bazoum")
    assert {"Mohamad Bazoum", "Mohamed Bazoum"} <= {m.text for m in bazoum.mentions}
    ne = next(c for c in tags.countries if c.code == "NE")
    assert "Nigerean" in {m.text for m in ne.mentions}
    tinubu_line = body.index("Nigeria's President Bola Tinubu")
    assert not any(tinubu_line <= m.start < tinubu_line + 40 for m in ne.mentions)  # that line is NG, never NE
    terms = {h.term for k in tags.keywords for h in k.hits}
    assert "military intervention" in terms
    assert {"invade niger", "would be considered a declaration of war"} & terms
    assert "invasion_war" in categories(tags) and "threat_of_force" in categories(tags)
    assert "troop_deployment" in categories(tags)  # "deploy 25,000 troops"
    threat = next(k for k in tags.keywords if k.category == "threat_of_force")
    assert sum(h.term == "military intervention" for h in threat.hits) >= 3
    for mention in (m for a in tags.actors for m in a.mentions):
        assert {"title": title, "body": body}[mention.field][mention.start : mention.end] == mention.text


def test_clean_seed_is_about_niger_with_little_intervention_language(seeds: Path) -> None:
    tags = tag(normalize_text((seeds / "000_d7400b1a43f4265f.txt").read_text()))
    assert "NE" in codes(tags) and tags.countries[0].code == "NE"
    assert "Niamey" in {p.name for p in tags.places}
    assert {"blinken", "bazoum", "nuland"} <= actors(tags)
    assert not {"threat_of_force", "troop_deployment", "invasion_war", "mobilisation"} & categories(tags)


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("Nigeria's President Bola Tinubu met envoys in Abuja.", {"NG"}, {"NE"}),
        ("Floods hit Niger State, north of Abuja, on Monday.", {"NG"}, {"NE"}),
        ("Oil spills continue in the Niger Delta, activists say.", {"NG"}, {"NE"}),
        ("Fishermen on the River Niger near Mopti lost their nets.", {"ML"}, {"NE"}),
        ("Le fleuve Niger est en crue à Niamey.", {"NE"}, set()),
        ("The Nigerean president was detained by his guard.", {"NE"}, {"NG"}),
        ("Somalia and Malibu have nothing to do with Mali's neighbours.", {"ML"}, set()),
        ("Malicious software hit a Somali bank.", set(), {"ML"}),
        ("Les Nigériens et les Burkinabè ont manifesté à Niamey.", {"NE", "BF"}, set()),
        ("Fighting near Tinzaouaten left dozens dead.", {"ML"}, set()),
        ("Des centaines de civils ont été tués à Barsalogho.", {"BF"}, set()),
        ("Gunmen attacked Djibo and Ménaka; Tillabéri was calm.", {"BF", "ML", "NE"}, set()),
    ],
)
def test_niger_is_never_nigeria_and_names_are_whole_words(text: str, present: set[str], absent: set[str]) -> None:
    found = codes(tag(text))
    assert present <= found
    assert not absent & found


@pytest.mark.parametrize(
    ("text", "actor", "expected"),
    [
        ("Wagner mercenaries arrived in Bamako to support the Malian army.", "wagner", True),
        ("Richard Wagner's Parsifal opened the festival at Bayreuth.", "wagner", False),
        ("Captain Ibrahim Traoré, Burkina Faso's junta leader, spoke.", "traore", True),
        ("Adama Traoré scored twice for his club on Saturday.", "traore", False),
        ("Bertrand Traoré was named captain of the national football team.", "traore", False),
        ("Le capitaine Traoré a reçu la délégation à Ouagadougou.", "traore", True),
        ("The UN Security Council met on Niger.", "un", True),
        ("Il y a un problème, dit un ministre.", "un", False),
    ],
)
def test_ambiguous_names_need_their_sense(text: str, actor: str, expected: bool) -> None:
    assert (actor in actors(tag(text))) is expected


@pytest.mark.parametrize(
    ("text", "category", "expected"),
    [
        ("ECOWAS threatened a military intervention to restore Bazoum in Niger.", "threat_of_force", True),
        ("The patient underwent a surgical intervention at the hospital.", "threat_of_force", False),
        ("The central bank's currency intervention steadied the naira.", "threat_of_force", False),
        ("La CEDEAO a ordonné l'activation de sa force en attente.", "troop_deployment", True),
        ("Troops of fans invaded the pitch after the final whistle.", "invasion_war", False),
        ("We will deploy the new app to all users next week.", "troop_deployment", False),
        ("Mali and Burkina Faso said an intervention would be a declaration of war.", "invasion_war", True),
        ("The striker's attacking runs troubled the defence all night.", "attacks_clashes", False),
        ("Des jihadistes ont attaqué un poste militaire près de Djibo.", "attacks_clashes", True),
        ("Le chirurgien a pratiqué une intervention chirurgicale délicate.", "threat_of_force", False),
        ("Ce fut un coup de pouce bienvenu pour les commerçants.", "coup_junta", False),
        ("Les putschistes ont renversé le président Bazoum le 26 juillet.", "coup_junta", True),
    ],
)
def test_intervention_language_keeps_its_military_sense(text: str, category: str, expected: bool) -> None:
    assert (category in categories(tag(text))) is expected


def _micro(kind: str, lang: str | None = None) -> tuple[float, float]:
    tp = fp = fn = 0
    for item in LABELLED:
        if lang and item["lang"] != lang:
            continue
        tags = tag(normalize_text(item["body"]), item["title"])
        got = {"countries": codes(tags), "actors": actors(tags), "categories": categories(tags)}[kind]
        truth = set(item["labels"][kind])
        if kind == "actors":
            got &= {a for i in LABELLED for a in i["labels"]["actors"]} | truth
        tp, fp, fn = tp + len(got & truth), fp + len(got - truth), fn + len(truth - got)
    return tp / (tp + fp), tp / (tp + fn)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_labelled_set_meets_loose_bounds(lang: str) -> None:
    """Loose floors under the targets (make bench prints the exact figures)."""
    country_p, country_r = _micro("countries", lang)
    _, actor_r = _micro("actors", lang)
    category_p, category_r = _micro("categories", lang)
    assert country_p >= 0.95 and country_r >= 0.95
    assert actor_r >= 0.9
    assert category_r >= 0.85 and category_p >= 0.85


def test_no_niger_nigeria_confusion_in_the_labelled_set() -> None:
    for item in LABELLED:
        found = codes(tag(normalize_text(item["body"]), item["title"]))
        truth = set(item["labels"]["countries"])
        assert ("NE" in found) == ("NE" in truth), item["id"]
