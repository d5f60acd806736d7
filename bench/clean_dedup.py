"""Cleaning and deduplication, measured on the shared corpus (``make bench``).

Reports: precision and recall of duplicate detection on the pairs that can be
labelled (the corpus's identical-text pairs, and copies made here of sampled
articles: new headline, new ticker, spelling fix, added or removed paragraph,
trimmed ending), the false merges among different stories, SimHash against
MinHash on the same copies (why MinHash was chosen), language detection
accuracy, and the cost per article of each stage in microseconds.

Different stories are judged by their exact word 3-gram sets: a pair flagged
as near whose smaller text shares under half its shingles with the other is a
false merge. Flagged pairs are listed for reading with ``--show``.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import statistics
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from sahelwatch.core.cleaning import clean
from sahelwatch.core.cleaning.language import detect_language
from sahelwatch.core.dedup import Index
from sahelwatch.core.model import Article, Origin
from sahelwatch.core.pipeline import Pipeline, minhash
from sahelwatch.core.preparation import Preparation

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "background_news.jsonl"
SEEDS = ROOT.parent / "shared" / "seeds"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
RECEIVED = T0 + timedelta(days=30)  # after the last corpus article (two minutes apart), so none is future-dated
_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def same_story(a: str, b: str) -> tuple[bool, float, float]:
    """The judge: most of the smaller text, and the opening of one, found in the other (exact word 3-gram sets).

    Pages of one site share teaser headlines, so overlap alone would call two
    different stories the same; their openings differ.
    """
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return False, 0.0, 0.0
    containment = len(sa & sb) / min(len(sa), len(sb))
    lead_a, lead_b = shingles(" ".join(a.split()[:40])), shingles(" ".join(b.split()[:40]))
    opening = max(len(lead_a & sb) / max(1, len(lead_a)), len(lead_b & sa) / max(1, len(lead_b)))
    return containment >= 0.5 and opening >= 0.5, containment, opening


def record(row: dict[str, Any], index: int, **changes: Any) -> bytes:
    article = {
        "id": row["id"],
        "url": row.get("url") or f"https://corpus.example/{row['id']}",
        "title": row.get("title") or "(untitled)",
        "published_at": (T0 + timedelta(minutes=2 * index)).isoformat(),
        "source": row.get("source") or "corpus",
        "body": row["text"],
        "language": row.get("lang") or "en",
    }
    article.update(changes)
    return orjson.dumps(article)


def variants(row: dict[str, Any], other: dict[str, Any], rng: random.Random) -> dict[str, str]:
    paragraphs = [p for p in row["text"].split("\n") if p.strip()]
    other_paragraphs = [p for p in other["text"].split("\n") if 100 <= len(p) <= 600] or ["An unrelated paragraph."]
    ticker = "BREAKING\n" + "\n".join(
        f"Markets: index {rng.randint(1, 99)} points higher in late trade." for _ in range(4)
    )
    middle = len(paragraphs) // 2
    typo_text = row["text"]
    for word in ("the", "and", "said"):
        typo_text = typo_text.replace(f" {word} ", f" {word[::-1]} ", 1)
    return {
        "new_headline": row["text"],
        "new_ticker": ticker + "\n\n" + row["text"],
        "spelling_fix": typo_text,
        "added_paragraph": "\n\n".join([*paragraphs[:middle], other_paragraphs[0], *paragraphs[middle:]]),
        "removed_paragraph": "\n\n".join(paragraphs[:middle] + paragraphs[middle + 1 :]),
        "trimmed_ending": "\n\n".join(paragraphs[: max(2, round(len(paragraphs) * 0.7))]),
    }


def simhash(text: str) -> int:
    """64-bit SimHash of word 3-grams, for the comparison only."""
    weights = [0] * 64
    for shingle in shingles(text):
        h = zlib.crc32(" ".join(shingle).encode()) | (zlib.crc32(("x" + " ".join(shingle)).encode()) << 32)
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="articles to copy for the recall test")
    parser.add_argument("--show", action="store_true", help="print every flagged pair of different texts")
    parser.add_argument("--out", type=Path, default=ROOT / ".local" / "bench" / "clean_dedup.json")
    args = parser.parse_args()
    if not CORPUS.is_file():
        print(f"corpus not found at {CORPUS}; nothing to measure", file=sys.stderr)
        return 1
    rows = [orjson.loads(line) for line in CORPUS.read_bytes().splitlines()]
    rows = [r for r in rows if r.get("text")]
    preparation = Preparation(max_message_bytes=2**21)
    pipeline = Pipeline(dedup_retention=timedelta(days=30))
    results: dict[str, Any] = {"corpus_articles": len(rows)}

    # 1. the corpus in order: exact pairs caught, near merges judged
    state: dict[str, Any] = {}
    dedup_index = Index()
    prepared, clean_us, dedup_us = [], [], []
    for index, row in enumerate(rows):
        raw = record(row, index)
        started = time.perf_counter()
        article = preparation.prepare(raw, RECEIVED, Origin("corpus", 0, index))
        middle = time.perf_counter()
        pipeline.deduplicate(article, state, dedup_index, minhash(article))
        ended = time.perf_counter()
        clean_us.append((middle - started) * 1e6)
        dedup_us.append((ended - middle) * 1e6)
        prepared.append(article)
    by_id = {a.id: (a, row) for a, row in zip(prepared, rows, strict=True)}
    first_with_text: dict[str, str] = {}
    identical_pairs = caught_identical = 0
    for article, row in zip(prepared, rows, strict=True):
        key = " ".join(row["text"].split())
        if key in first_with_text:
            identical_pairs += 1
            caught_identical += article.duplicate is not None and article.duplicate.kind == "exact"
        else:
            first_with_text[key] = article.id
    flagged = [a for a in prepared if a.duplicate is not None and a.duplicate.kind == "near"]
    judged = []
    for article in flagged:
        first, _ = by_id[article.duplicate.of]  # type: ignore[union-attr]
        same, containment, opening = same_story(article.text.body, first.text.body)
        judged.append((same, containment, opening, article, first))
    false_merges = [j for j in judged if not j[0]]
    results["exact_pairs"] = {"pairs": identical_pairs, "caught": caught_identical}
    results["near_flagged"] = len(flagged)
    results["near_flagged_judged_same_story"] = len(judged) - len(false_merges)
    results["false_merges"] = len(false_merges)
    if args.show:
        for same, containment, opening, article, first in sorted(judged, key=lambda j: j[1]):
            print(
                f"{'same' if same else 'DIFFERENT'} C={containment:.2f} lead={opening:.2f} "
                f"est={article.duplicate.similarity:.2f} {article.id} ~ {first.id}\n"  # type: ignore[union-attr]
                f"    {article.text.body[:110]!r}\n    {first.text.body[:110]!r}"
            )

    # 2. copies of sampled articles against the whole corpus state
    rng = random.Random(7)
    candidates = [
        r for r in rows if r.get("lang") == "en" and len([p for p in r["text"].split("\n") if p.strip()]) >= 5
    ]
    sample = rng.sample(candidates, min(args.samples, len(candidates)))
    recall: dict[str, list[int]] = {}
    sim_distances: dict[str, list[int]] = {}
    for n, row in enumerate(sample):
        other = rng.choice(rows)
        base_hash = simhash(row["text"])
        for kind, text in variants(row, other, rng).items():
            copy_state = _Overlay(state)
            raw = record(
                row,
                len(rows) + n,
                id=f"copy-{n}-{kind}",
                url=f"https://copy.example/{n}/{kind}",
                title=f"Copy {kind}",
                source="copy.example",
                body=text,
            )
            article = preparation.prepare(raw, RECEIVED, Origin("copies", 0, n))
            copy_index = Index(copy.deepcopy(dedup_index.bands), dict(dedup_index.signatures))
            pipeline.deduplicate(article, copy_state, copy_index, minhash(article))
            expected = by_id[row["id"]][0].story_id
            hit = article.duplicate is not None and article.story_id == expected
            recall.setdefault(kind, []).append(int(hit))
            sim_distances.setdefault(kind, []).append(bin(base_hash ^ simhash(text)).count("1"))
    results["copies_recall"] = {k: round(sum(v) / len(v), 4) for k, v in recall.items()}
    results["copies_per_kind"] = len(sample)
    flagged_exact = sum(1 for a in prepared if a.duplicate is not None and a.duplicate.kind == "exact")
    caught_copies = sum(sum(v) for v in recall.values())
    all_copies = sum(len(v) for v in recall.values())
    results["summary"] = {
        "precision_on_corpus": round(
            (flagged_exact + results["near_flagged_judged_same_story"]) / max(1, flagged_exact + len(flagged)), 4
        ),
        "recall_on_labelled_pairs": round((caught_identical + caught_copies) / (identical_pairs + all_copies), 4),
        "false_merges": len(false_merges),
    }

    # 3. different stories: SimHash distances of same-category pairs, against those of the copies
    unrelated = []
    for _ in range(500):
        a, b = rng.sample(rows, 2)
        if a.get("category") == b.get("category") and " ".join(a["text"].split()) != " ".join(b["text"].split()):
            unrelated.append(bin(simhash(a["text"]) ^ simhash(b["text"])).count("1"))
    results["simhash_hamming"] = {
        **{kind: {"p50": percentile(d, 0.5), "p95": percentile(d, 0.95)} for kind, d in sim_distances.items()},
        "different_same_topic": {"p5": percentile(unrelated, 0.05), "min": min(unrelated)},
    }

    # 4. the seeds: same event, different stories
    if SEEDS.is_dir():
        seed_state: dict[str, Any] = {}
        verdicts = []
        for index, seed in enumerate(sorted(SEEDS.glob("*.txt"))):
            raw = orjson.dumps(
                {
                    "id": seed.stem,
                    "url": f"https://seed.example/{seed.stem}",
                    "title": seed.stem,
                    "published_at": T0.isoformat(),
                    "source": f"seed{index}",
                    "body": seed.read_text(),
                }
            )
            article = preparation.prepare(raw, RECEIVED, Origin("seeds", 0, index))
            verdicts.append(pipeline.deduplicate(article, seed_state, Index(), minhash(article)).duplicate)
        results["seeds_merged"] = any(v is not None for v in verdicts)

    # 5. language detection on the corpus (the `lang` field is the label)
    correct: dict[str, list[int]] = {}
    lang_us = []
    for row in rows:
        started = time.perf_counter()
        guess = detect_language(row["text"])
        lang_us.append((time.perf_counter() - started) * 1e6)
        correct.setdefault(row.get("lang") or "?", []).append(int(guess == row.get("lang")))
    results["language_accuracy"] = {k: round(sum(v) / len(v), 4) for k, v in correct.items()}

    # 6. cost per article, around 3,000 characters, and the HTML extractor apart
    near_3000 = [i for i, r in enumerate(rows) if 2500 <= len(r["text"]) <= 3500]
    results["cost_us_3000_chars"] = {
        "articles": len(near_3000),
        "prepare_mean": round(statistics.mean(clean_us[i] for i in near_3000), 1),
        "dedup_mean": round(statistics.mean(dedup_us[i] for i in near_3000), 1),
        "prepare_plus_dedup_p50": round(percentile([clean_us[i] + dedup_us[i] for i in near_3000], 0.5), 1),
        "prepare_plus_dedup_p95": round(percentile([clean_us[i] + dedup_us[i] for i in near_3000], 0.95), 1),
        "language_mean": round(statistics.mean(lang_us), 1),
    }
    html_us = []
    clean(_html_article(_page(rows[0])))  # the first call loads trafilatura's models
    for row in rows[:200]:
        page = _page(row)
        started = time.perf_counter()
        clean(_html_article(page))
        html_us.append((time.perf_counter() - started) * 1e6)
    results["html_extraction_us"] = {
        "p50": round(percentile(html_us, 0.5), 1),
        "mean": round(statistics.mean(html_us), 1),
        "p95": round(percentile(html_us, 0.95), 1),
    }
    results["dedup_state_keys"] = len(state)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"written to {args.out}", file=sys.stderr)
    return 0


class _Overlay(dict[str, Any]):
    """Reads through to a base state, writes to itself: each copy is checked against the corpus alone."""

    def __init__(self, base: dict[str, Any]) -> None:
        super().__init__()
        self.base = base

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, self.base.get(key, default))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or key in self.base


def _page(row: dict[str, Any]) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in row["text"].split("\n") if p.strip())
    return (
        f"<html><head><title>{row.get('title')}</title><script>var x=1;</script></head><body>"
        "<nav><a href='/'>Home</a><a href='/world'>World</a></nav>"
        f"<article><h1>{row.get('title')}</h1>{paragraphs}</article><footer>© Outlet</footer></body></html>"
    )


def _html_article(page: str) -> Article:
    return Article(id="p", url="https://x.example/p", title="", published_at=T0, source="x", html=page)


if __name__ == "__main__":
    sys.exit(main())
