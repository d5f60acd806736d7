import jsonschema_rs
import pytest

from sahelwatch.contracts import SCHEMA_NAMES, load_schema, schema_errors
from tests.conftest import article


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_is_valid_2020_12_and_versioned(name: str) -> None:
    schema = load_schema(name)
    jsonschema_rs.meta.validate(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["x-schema-version"] == 1
    assert schema["properties"]["schema_version"]["const"] == 1


def test_valid_article_has_no_errors() -> None:
    assert schema_errors("article", article()) == []
    assert schema_errors("article", article(body=None) | {"html": "<p>x</p>"}) != []  # body must be a string
    html_only = article()
    del html_only["body"]
    html_only["html"] = "<html><p>x</p></html>"
    assert schema_errors("article", html_only) == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"id": 42}, 'id: 42 is not of type "string"'),
        ({"published_at": "yesterday"}, "published_at"),
        ({"published_at": "2023-08-06 12:00:00"}, "published_at"),
        ({"published_at": "2023-08-06T12:00:00"}, "published_at"),
        ({"url": "ftp://x"}, "url"),
        ({"authors": "Jane"}, "authors"),
        ({"schema_version": 2}, "schema_version"),
    ],
)
def test_invalid_articles_name_the_field(change: dict[str, object], fragment: str) -> None:
    errors = schema_errors("article", article(**change))
    assert any(fragment in e for e in errors), errors


def test_missing_text_and_missing_fields_are_reported() -> None:
    no_text = article()
    del no_text["body"]
    assert schema_errors("article", no_text)
    no_title = article()
    del no_title["title"]
    assert any('"title" is a required property' in e for e in schema_errors("article", no_title))


def test_rfc3339_offsets_are_accepted() -> None:
    assert schema_errors("article", article(published_at="2023-08-06T12:00:00+01:00")) == []
    assert schema_errors("article", article(published_at="2023-08-06T12:00:00.123z")) == []
