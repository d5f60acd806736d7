import json
import unicodedata
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

from sahelwatch.core.cleaning.language import STOPWORDS, detect_language

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "background_news.jsonl"
# The corpus is sorted by source, so its first 1,500 lines are all English:
# the first 1,500 articles of each language are read instead.
PER_LANGUAGE = 1_500

ENGLISH = (
    "The military government in Niamey said on Tuesday that its soldiers had repelled an attack near the border "
    "with Mali and Burkina Faso. According to the defence ministry, at least ten attackers were killed, but the "
    "figure could not be independently verified. Residents of the area told reporters that the fighting lasted "
    "for several hours before the army regained control of the town."
)
FRENCH_NIGER = (
    "Le gouvernement de transition du Niger a annoncé mardi que l'armée avait repoussé une attaque dans la région "
    "de Tillabéri, près de la frontière avec le Mali et le Burkina Faso. Selon le ministère de la Défense, au "
    "moins dix assaillants ont été tués, mais ce bilan n'a pas pu être vérifié de manière indépendante. Les "
    "habitants affirment que les combats ont duré plusieurs heures."
)
FRENCH_MALI_BURKINA = (
    "À Bamako, les autorités maliennes ont déjà prévenu qu'elles ne reviendraient pas sur leur décision de quitter "
    "la Cédéao. « Nous sommes très attachés à notre souveraineté », a déclaré le porte-parole du gouvernement, qui "
    "a également dénoncé des sanctions jugées injustes. Au Burkina Faso, le capitaine Ibrahim Traoré a tenu des "
    "propos similaires devant les forces vives de Ouagadougou."
)
SPANISH = (
    "El gobierno militar de Níger anunció el martes que sus tropas rechazaron un ataque cerca de la frontera con "
    "Malí y Burkina Faso. Según el ministerio de Defensa, al menos diez atacantes murieron, pero la cifra no pudo "
    "ser verificada de forma independiente. Los habitantes de la zona dijeron que los combates duraron varias "
    "horas y que muchas familias huyeron hacia la capital."
)
GERMAN = (
    "Die Militärregierung in Niger hat am Dienstag mitgeteilt, dass Soldaten einen Angriff nahe der Grenze zu Mali "
    "und Burkina Faso abgewehrt haben. Nach Angaben des Verteidigungsministeriums wurden mindestens zehn Angreifer "
    "getötet, die Zahl konnte jedoch nicht unabhängig überprüft werden. Bewohner der Region sagten, die Kämpfe "
    "hätten mehrere Stunden gedauert."
)
PORTUGUESE = (
    "O governo militar do Níger anunciou na terça-feira que as suas tropas repeliram um ataque perto da fronteira "
    "com o Mali e o Burkina Faso. Segundo o ministério da Defesa, pelo menos dez atacantes foram mortos, mas o "
    "número não pôde ser verificado de forma independente. Os moradores da região disseram que os combates "
    "duraram várias horas e que muitas famílias fugiram para a capital."
)
ITALIAN = (
    "Il governo militare del Niger ha annunciato martedì che le sue truppe hanno respinto un attacco vicino al "
    "confine con il Mali e il Burkina Faso. Secondo il ministero della Difesa, almeno dieci assalitori sono stati "
    "uccisi, ma il bilancio non è stato verificato in modo indipendente. Gli abitanti della zona hanno detto che "
    "i combattimenti sono durati diverse ore e che molte famiglie sono fuggite verso la capitale."
)
DUTCH = (
    "De regering van Niger heeft dinsdag bekendgemaakt dat het leger een aanval in de regio Tillaberi heeft "
    "afgeslagen. Volgens een woordvoerder zijn er bij de gevechten ten minste tien soldaten om het leven gekomen, "
    "maar dat cijfer kon niet onafhankelijk worden bevestigd. Het is de derde aanval in een maand tijd."
)
HAUSA = (
    "Shugaban kasar Nijar ya ce gwamnatin sa za ta ci gaba da yaki da 'yan ta'adda a yankin Tillaberi, inda aka "
    "kashe sojoji da dama a makon da ya gabata. Mazauna yankin sun ce maharan sun zo ne a kan babura, kuma sun "
    "kona gidaje da dama kafin su tsere zuwa cikin daji."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGLISH, "en"),
        (FRENCH_NIGER, "fr"),
        (FRENCH_MALI_BURKINA, "fr"),
        (SPANISH, "es"),
        (GERMAN, "de"),
        (PORTUGUESE, "pt"),
        (ITALIAN, "it"),
    ],
)
def test_paragraphs_in_each_profiled_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_decomposed_accents_read_like_composed_ones() -> None:
    assert detect_language(unicodedata.normalize("NFD", FRENCH_MALI_BURKINA)) == "fr"


def test_curly_apostrophes_split_french_elisions() -> None:
    assert detect_language(FRENCH_NIGER.replace("'", "\u2019")) == "fr"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "Niger junta closes border with Benin after talks collapse",
        "Le Niger ferme sa frontière avec le Bénin après l'échec des discussions",
        "2023 08 06 12 00 -- 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30",
    ],
)
def test_too_little_text_gives_no_language(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", [DUTCH, HAUSA], ids=["dutch", "hausa"])
def test_languages_without_a_profile_are_not_forced_into_one(text: str) -> None:
    assert detect_language(text) is None


def test_mixed_text_goes_to_the_language_that_dominates() -> None:
    english_with_french_quote = ENGLISH + " « Nous ne reculerons pas devant les terroristes », a dit le général."
    french_with_english_quote = FRENCH_NIGER + ' "We will not negotiate with them," a US official said.'
    assert detect_language(english_with_french_quote) == "en"
    assert detect_language(french_with_english_quote) == "fr"


def test_half_and_half_text_has_no_dominant_language() -> None:
    assert detect_language(ENGLISH + " " + FRENCH_NIGER) is None


def test_profiles_are_disjoint() -> None:
    shared = {(a, b): STOPWORDS[a] & STOPWORDS[b] for a, b in combinations(STOPWORDS, 2)}
    assert {pair: words for pair, words in shared.items() if words} == {}


def test_accuracy_on_the_shared_corpus() -> None:
    if not CORPUS.is_file():
        pytest.skip(f"shared corpus not present at {CORPUS}")
    seen: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    with CORPUS.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            lang = row["lang"]
            if seen[lang] < PER_LANGUAGE:
                seen[lang] += 1
                correct[lang] += detect_language(row["text"]) == lang
    assert seen["en"] >= 500 and seen["fr"] >= 500, f"corpus too small to measure: {dict(seen)}"
    accuracy = {lang: correct[lang] / seen[lang] for lang in seen}
    assert all(value >= 0.99 for value in accuracy.values()), accuracy
