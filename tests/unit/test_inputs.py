from datetime import UTC, datetime
from pathlib import Path

import orjson

from sahelwatch.core.intake import decode_article
from sahelwatch.inputs import FileDefaults, Record, Refusal, read_records
from tests.conftest import EXAMPLES


def records(*paths: str, defaults: FileDefaults = FileDefaults()) -> list[Record | Refusal]:
    return list(read_records(list(paths), defaults))


def test_json_lines_are_keyed_by_id_and_sent_verbatim(tmp_path: Path) -> None:
    file = tmp_path / "a.jsonl"
    file.write_bytes(b'{"id": "x1", "n": 1}\n\nnot json\n[1]\n')
    got = records(str(file))
    assert got == [
        Record(b"x1", b'{"id": "x1", "n": 1}', f"{file}:1"),
        Record(None, b"not json", f"{file}:3"),
        Record(None, b"[1]", f"{file}:4"),
    ]


def test_json_document_object_or_array(tmp_path: Path) -> None:
    single, many, broken = tmp_path / "one.json", tmp_path / "many.json", tmp_path / "bad.json"
    single.write_text('{"id": "s"}')
    many.write_text('[{"id": "m1"}, {"id": "m2"}]')
    broken.write_text("{")
    assert [r.key for r in records(str(single), str(many)) if isinstance(r, Record)] == [b"s", b"m1", b"m2"]
    (refusal,) = records(str(broken))
    assert isinstance(refusal, Refusal) and "invalid JSON" in refusal.reason


def test_text_file_becomes_a_valid_article() -> None:
    when = datetime(2023, 8, 7, 9, tzinfo=UTC)
    (record,) = records(str(EXAMPLES / "note.txt"), defaults=FileDefaults("sahel-dispatch.example", when, "fr"))
    assert isinstance(record, Record) and record.key == b"note"
    article = decode_article(record.value, 2**21)
    assert article.title.startswith("À Niamey")
    assert article.published_at == when
    assert article.language == "fr"
    assert article.body is not None and not article.body.startswith("À Niamey")


def test_html_file_takes_title_and_published_date_from_the_page() -> None:
    (record,) = records(str(EXAMPLES / "page.html"))
    assert isinstance(record, Record)
    data = orjson.loads(record.value)
    assert data["id"] == "page"
    assert data["published_at"] == "2023-08-10T16:00:00.000Z"
    assert "standby force" in data["title"]
    assert "<article" in data["html"]


def test_missing_and_unknown_files_are_refused(tmp_path: Path) -> None:
    odd = tmp_path / "x.pdf"
    odd.write_bytes(b"%PDF")
    reasons = [r.reason for r in records(str(tmp_path / "nope.jsonl"), str(odd)) if isinstance(r, Refusal)]
    assert reasons == ["no such file", "unknown file type .pdf: use .jsonl, .json, .txt or .html"]
