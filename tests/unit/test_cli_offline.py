from pathlib import Path

import orjson
import pytest

from sahelwatch.cli import main
from tests.conftest import EXAMPLES


def test_replay_writes_every_article_and_flags_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tagged.jsonl"
    assert main(["replay", str(EXAMPLES / "articles.jsonl"), "--tagged-out", str(out)]) == 0
    rows = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 16
    assert sum(1 for r in rows if r["duplicate"]) == 2
    assert "14 first occurrences counted, 2 duplicates" in capsys.readouterr().err


def test_tag_prints_json_lines_and_reports_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "only-an-id"}\nnot json\n')
    assert main(["tag", str(EXAMPLES / "page.html"), str(bad)]) == 0
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    assert orjson.loads(line)["cleaning"]["path"] == "html"
    assert "schema_invalid" in captured.err and "not_json" in captured.err


def test_configuration_errors_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAHELWATCH_PARTITIONS", "lots")
    assert main(["tag", str(EXAMPLES / "note.txt")]) == 2
    assert "SAHELWATCH_PARTITIONS" in capsys.readouterr().err
