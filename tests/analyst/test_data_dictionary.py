"""The data dictionary stays true: it documents every column of the schemas with its Arrow type,
and its reading one-liners run against a warehouse and return the documented rows."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from core.schema import ARTICLES_SCHEMA, QUARANTINE_SCHEMA
from tests.analyst.conftest import DAY

DOC = Path(__file__).resolve().parents[2] / "README.md"  # the data dictionary is a section of the README


def doc_type(arrow_type: object) -> str:
    """How the dictionary spells an Arrow type: ``list<string>``, ``date32``."""
    return str(arrow_type).replace("list<item: ", "list<").replace("date32[day]", "date32")


def table_rows(text: str, heading: str) -> dict[str, str]:
    """``{column: arrow type}`` of the markdown table under ``heading``."""
    section = re.split(r"\n##+ ", text.split(heading, 1)[1], maxsplit=1)[0]
    return {m[0]: m[1] for m in re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \|", section, re.M)}


def test_every_column_is_documented_with_its_type():
    text = DOC.read_text(encoding="utf-8")
    articles = table_rows(text, "### `articles`")
    assert list(articles) == ARTICLES_SCHEMA.names
    for f in ARTICLES_SCHEMA:
        assert articles[f.name] == doc_type(f.type), f.name
    quarantine = table_rows(text, "### `quarantine`")
    assert list(quarantine) == [*QUARANTINE_SCHEMA.names, "date"]
    for f in QUARANTINE_SCHEMA:
        assert quarantine[f.name] == doc_type(f.type), f.name


def test_reading_one_liners_run(warehouse):
    text = DOC.read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, object] = {"ROOT": str(warehouse.root)}
    exec(compile(code, str(DOC), "exec"), scope)  # noqa: S102 - the documented snippet itself
    expected = sorted(r["article_id"] for r in warehouse.rows(DAY, "politics"))
    assert sorted(scope["df"]["article_id"].to_list()) == expected  # type: ignore[index]


def test_simhash_distance_expression_works():
    con = duckdb.connect()
    assert con.execute("SELECT bit_count(xor(CAST(? AS BIGINT), CAST(? AS BIGINT)))", [-5, -3]).fetchall() == [(2,)]
