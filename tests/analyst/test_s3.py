"""The analyst entry points on an ``s3://`` root (a moto server on 127.0.0.1: no network, no httpfs)."""

from __future__ import annotations

import json

import boto3
import pytest

from newsline.report import build_daily_report
from tests.analyst.conftest import DAY, build_warehouse
from tests.s3server import moto_s3
from warehouse.query import run_query

BUCKET = "newsline-analyst"


@pytest.fixture(scope="module")
def s3_root(tmp_path_factory):
    with moto_s3(BUCKET):
        client = boto3.client("s3")
        local = build_warehouse(tmp_path_factory.mktemp("s3src") / "wh")
        for path in local.root.rglob("*"):
            if path.is_file():
                client.put_object(Bucket=BUCKET, Key=f"wh/{path.relative_to(local.root)}", Body=path.read_bytes())
        yield f"s3://{BUCKET}/wh", local


def test_query_on_s3(s3_root):
    root, local = s3_root
    got = run_query(root, "SELECT section, count(*) AS n FROM articles WHERE date = DATE '2024-09-06' "
                          "GROUP BY 1 ORDER BY 1", "json")
    expected = {}
    for r in local.rows(DAY):
        expected[r["section"]] = expected.get(r["section"], 0) + 1
    assert [json.loads(line) for line in got.splitlines()] == [  # type: ignore[union-attr]
        {"section": s, "n": n} for s, n in sorted(expected.items())]
    assert run_query(root, "SELECT count(*) AS n FROM quarantine", "json") == '{"n": 3}'
    assert run_query(root, "SELECT count(*) AS n FROM article_revisions", "json") == '{"n": 0}'


def test_report_on_s3(s3_root, tmp_path):
    root, _local = s3_root
    out = tmp_path / "s3.html"
    build_daily_report(root, DAY, None, str(out))
    page = out.read_text(encoding="utf-8")
    assert '"x":["business","politics","world"]' in page and '"y":[1,3,2]' in page


def test_query_sandbox_on_s3(s3_root, tmp_path):
    """The views read s3:// through the registered filesystem while local files stay out of reach."""
    from warehouse.query import QueryError

    root, _local = s3_root
    for sql in ("SELECT * FROM read_csv('/etc/passwd')", f"COPY (SELECT 1) TO '{tmp_path}/x.csv'",
                "DROP VIEW articles", "INSTALL httpfs"):
        with pytest.raises(QueryError):
            run_query(root, sql)
    assert not list(tmp_path.iterdir())
    assert run_query(root, "SELECT count(*) AS n FROM quarantine", "json") == '{"n": 3}'


def test_export_db_of_s3_needs_a_local_path(s3_root, tmp_path):
    from warehouse.duckdb_file import export_database

    root, _local = s3_root
    with pytest.raises(ValueError, match="local file"):
        export_database(root)
    path = export_database(root, str(tmp_path / "s3.duckdb"))
    import duckdb

    con = duckdb.connect(path, read_only=True)
    sql = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'articles'").fetchone()[0]
    assert f"{root}/articles/**/*.parquet" in sql
