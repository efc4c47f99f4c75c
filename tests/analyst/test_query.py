"""The DuckDB views and the ``newsline query`` outputs, on a warehouse written file by file."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.analyst.conftest import DAY, OLD, PREVIOUS, article, write_partitions
from warehouse.query import connect, main_query, run_query


def test_articles_view_types_partitions_and_every_row(warehouse):
    con = connect(str(warehouse.root))
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE articles)").fetchall())
    assert types["date"] == "DATE" and types["section"] == "VARCHAR"
    assert types["published_at"] == "TIMESTAMP WITH TIME ZONE" and types["authors"] == "VARCHAR[]"
    got = sorted(con.execute("SELECT article_id, date, section FROM articles").fetchall())
    assert got == sorted((r["article_id"], r["date"], r["section"]) for r in warehouse.articles)


def test_filters_on_partition_columns_return_exactly_those_rows(warehouse):
    con = connect(str(warehouse.root))
    for day, section in [(DAY, "politics"), (DAY, "world"), (PREVIOUS, "society"), (OLD, "politics")]:
        ids = con.execute(
            "SELECT article_id FROM articles WHERE date = ? AND section = ? ORDER BY article_id", [day, section]
        ).fetchall()
        assert [i for (i,) in ids] == sorted(r["article_id"] for r in warehouse.rows(day, section))
    per_day = dict(con.execute("SELECT date, count(*) FROM articles GROUP BY date").fetchall())
    assert per_day == {d: len(warehouse.rows(d)) for d in (DAY, PREVIOUS, OLD)}


def test_date_is_the_jst_day_not_the_utc_one(warehouse):
    con = connect(str(warehouse.root))
    day, utc_day = con.execute(
        "SELECT date, CAST(timezone('UTC', published_at) AS DATE) FROM articles WHERE article_id = 'japannews:6'"
    ).fetchone()
    assert day == DAY and utc_day == date(2024, 9, 5)


def test_internal_folders_and_temp_files_are_invisible(warehouse):
    ids = {i for (i,) in connect(str(warehouse.root)).execute("SELECT article_id FROM articles").fetchall()}
    assert "japannews:999" not in ids  # only in _index/
    assert len(ids) == len(warehouse.articles)


def test_quarantine_view_reads_run_files_with_their_date(warehouse):
    rows = connect(str(warehouse.root)).execute(
        "SELECT date, run_id, url, reason FROM quarantine ORDER BY url"
    ).fetchall()
    expected = sorted(warehouse.quarantine[DAY], key=lambda r: r["url"])
    assert rows == [(DAY, r["run_id"], r["url"], r["reason"]) for r in expected]


def test_missing_datasets_are_empty_views_with_their_columns(tmp_path, warehouse):
    con = connect(str(warehouse.root))  # no article_revisions folder in the fixture
    assert con.execute("SELECT count(*) FROM article_revisions").fetchone() == (0,)
    cols = [c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE article_revisions)").fetchall()]
    assert {"article_id", "date", "section", "body", "content_hash"} <= set(cols)
    empty = connect(str(tmp_path / "nothing-here"))
    for view in ("articles", "article_revisions", "quarantine"):
        assert empty.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)
    assert empty.execute("SELECT count(*) FROM articles WHERE date = DATE '2024-09-06'").fetchone() == (0,)


def test_revisions_view_when_present(warehouse):
    versions = [article(1, DAY, "politics"), article(1, DAY, "politics", revision=1, title="Updated headline")]
    for row in versions:
        row.pop("first_seen_at")
        row.pop("near_duplicate_of")
    from warehouse.revisions import REVISIONS_SCHEMA

    assert set(versions[0]) == {f.name for f in REVISIONS_SCHEMA}
    write_partitions(warehouse.root, "article_revisions", [{**r, "first_seen_at": None, "near_duplicate_of": None}
                                                           for r in versions])
    got = connect(str(warehouse.root)).execute(
        "SELECT article_id, revision, title, date, section FROM article_revisions ORDER BY revision"
    ).fetchall()
    assert got == [("japannews:1", 0, "Placeholder headline 1", DAY, "politics"),
                   ("japannews:1", 1, "Updated headline", DAY, "politics")]


SQL = "SELECT article_id, section, date, published_at, authors FROM articles WHERE date = DATE '2024-09-06' ORDER BY 1"


def test_csv_output_text_and_file(warehouse, tmp_path):
    text = run_query(str(warehouse.root), SQL, "csv")
    assert text is not None
    records = list(csv.DictReader(io.StringIO(text)))
    expected = sorted(warehouse.rows(DAY), key=lambda r: r["article_id"])
    assert [r["article_id"] for r in records] == [r["article_id"] for r in expected]
    assert [json.loads(r["authors"]) for r in records] == [r["authors"] for r in expected]
    assert records[0]["date"] == "2024-09-06"
    out = tmp_path / "out" / "day.csv"
    assert run_query(str(warehouse.root), SQL, "csv", str(out)) is None
    assert out.read_text(encoding="utf-8") == text
    assert main_query(str(warehouse.root), SQL, "csv", str(out)) == f"wrote {len(expected)} rows to {out}"


def test_parquet_output_keeps_types(warehouse, tmp_path):
    out = tmp_path / "day.parquet"
    assert run_query(str(warehouse.root), SQL, "parquet", str(out)) is None
    table = pq.read_table(out)
    assert table.num_rows == len(warehouse.rows(DAY))
    assert str(table.schema.field("date").type) == "date32[day]"
    assert str(table.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    by_id = {r["article_id"]: r for r in warehouse.rows(DAY)}
    for row in table.to_pylist():
        assert row["published_at"] == by_id[row["article_id"]]["published_at"]
        assert row["authors"] == by_id[row["article_id"]]["authors"]
    with pytest.raises(ValueError, match="needs --out"):
        run_query(str(warehouse.root), SQL, "parquet")


def test_json_lines_and_table_outputs(warehouse):
    lines = run_query(str(warehouse.root), SQL, "json").splitlines()  # type: ignore[union-attr]
    first = json.loads(lines[0])
    assert len(lines) == len(warehouse.rows(DAY))
    assert first["date"] == "2024-09-06" and first["published_at"].endswith("+00:00")
    table = main_query(str(warehouse.root), "SELECT section, count(*) AS n FROM articles GROUP BY 1 ORDER BY 1")
    assert "politics" in table and "society" in table
    with pytest.raises(ValueError, match="unknown format"):
        run_query(str(warehouse.root), SQL, "xml")


def test_file_uri_root(warehouse):
    got = run_query(f"file://{warehouse.root}", "SELECT count(*) AS n FROM articles", "json")
    assert got == json.dumps({"n": len(warehouse.articles)})


def test_cli_query_command(warehouse, tmp_path, capsys):
    from newsline.cli import main

    out = tmp_path / "cli.csv"
    rc = main(["query", "SELECT article_id FROM articles WHERE section = 'world' ORDER BY 1", "--format", "csv",
               "--out", str(out), "--warehouse", str(warehouse.root)])
    assert rc in (0, None)
    assert out.read_text().splitlines() == ["article_id", *sorted(r["article_id"] for r in warehouse.rows(section="world"))]
    assert Path(out).exists() and "wrote 2 rows" in capsys.readouterr().out


def test_views_over_a_warehouse_written_by_the_real_merge(tmp_path):
    """The layout contract from the other side: what ``merge_articles`` writes, the views read."""
    import pyarrow as pa

    from core.schema import ARTICLES_SCHEMA
    from warehouse.articles import merge_articles

    root = str(tmp_path / "merged")
    first = [article(1, DAY, "politics"), article(2, DAY, "world"), article(3, PREVIOUS, "politics")]
    merge_articles(root, pa.Table.from_pylist(first, schema=ARTICLES_SCHEMA), run_id="run-1")
    update = article(1, DAY, "politics", revision=1, title="Updated headline",
                     modified_at=first[0]["modified_at"].replace(hour=first[0]["modified_at"].hour + 1))
    merge_articles(root, pa.Table.from_pylist([update], schema=ARTICLES_SCHEMA), run_id="run-2")
    con = connect(root)
    assert con.execute("SELECT article_id, revision, title, run_id FROM articles WHERE article_id = 'japannews:1'"
                       ).fetchall() == [("japannews:1", 1, "Updated headline", "run-2")]
    assert con.execute("SELECT date, section, count(*) FROM articles GROUP BY ALL ORDER BY ALL").fetchall() == [
        (PREVIOUS, "politics", 1), (DAY, "politics", 1), (DAY, "world", 1)]
    assert con.execute("SELECT revision FROM article_revisions WHERE article_id = 'japannews:1' ORDER BY 1"
                       ).fetchall() == [(0,), (1,)]


def test_a_windowed_connection_holds_only_its_days_and_site(tmp_path):
    """The quality check and the report ask about one day of one site: their connection reads only
    those days' files of that site, once, instead of every file of the warehouse for each query."""
    import pyarrow as pa

    from core.schema import ARTICLES_SCHEMA
    from warehouse.articles import merge_articles
    from warehouse.query import Window

    root = str(tmp_path / "merged")
    rows = [article(1, DAY, "politics"), article(2, PREVIOUS, "world"), article(3, OLD, "politics"),
            {**article(4, DAY, "politics"), "site": "metrotimes", "article_id": "metrotimes:4",
             "url": "https://metrotimes.example/4"}]
    merge_articles(root, pa.Table.from_pylist(rows, schema=ARTICLES_SCHEMA), run_id="run-1")
    whole = connect(root)
    assert whole.execute("SELECT count(*) FROM articles").fetchone() == (4,)
    windowed = connect(root, Window(PREVIOUS, DAY, "japannews"))
    assert sorted(windowed.execute("SELECT article_id, date FROM articles").fetchall()) == [
        ("japannews:1", DAY), ("japannews:2", PREVIOUS)]
    assert windowed.execute("SELECT count(*) FROM article_revisions").fetchone() == (2,)
    all_sites = connect(root, Window(DAY, DAY))
    assert sorted(i for (i,) in all_sites.execute("SELECT article_id FROM articles").fetchall()) == [
        "japannews:1", "metrotimes:4"]
    types = dict(windowed.execute("SELECT column_name, column_type FROM (DESCRIBE articles)").fetchall())
    assert types == dict(whole.execute("SELECT column_name, column_type FROM (DESCRIBE articles)").fetchall())
    empty = connect(root, Window(date(2020, 1, 1), date(2020, 1, 2)))
    assert empty.execute("SELECT count(*) FROM articles").fetchone() == (0,)


def test_sql_errors_are_user_errors(warehouse, tmp_path):
    from warehouse.query import QueryError

    with pytest.raises(QueryError, match="nope"):
        run_query(str(warehouse.root), "SELECT * FROM nope")
    with pytest.raises(ValueError, match="no_such_column"):
        run_query(str(warehouse.root), "SELECT no_such_column FROM articles", "csv", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()


# --- the sandbox of ``newsline query`` --------------------------------------------------------------

PROBES = {
    "copy": "COPY (SELECT 1 AS x) TO '{outside}/copied.csv'",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "attach": "ATTACH '{outside}/attached.duckdb' AS other",
    "install": "INSTALL httpfs",
    "drop_view": "DROP VIEW articles",
    "set": "SET enable_external_access = true",
}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_query_refuses_each_probe_with_a_clear_error(warehouse, tmp_path, probe):
    from warehouse.query import QueryError

    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(QueryError) as caught:
        run_query(str(warehouse.root), PROBES[probe].format(outside=outside))
    assert str(caught.value) and "\n" not in str(caught.value)
    assert not list(outside.iterdir())  # nothing written outside the warehouse
    assert run_query(str(warehouse.root), "SELECT count(*) AS n FROM articles", "json") == json.dumps(
        {"n": len(warehouse.articles)})  # and the views are still there


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_the_sandboxed_connection_itself_refuses_each_probe(warehouse, tmp_path, probe):
    """Below the statement check: DuckDB's own settings refuse the probes (defence in depth)."""
    import duckdb

    from warehouse.query import sandboxed

    outside = tmp_path / "outside"
    outside.mkdir()
    with sandboxed(str(warehouse.root)) as con:
        with pytest.raises(duckdb.Error):
            con.execute(PROBES[probe].format(outside=outside))
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration', "
            "'autoinstall_known_extensions', 'autoload_known_extensions', 'allowed_directories')").fetchall())
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (len(warehouse.articles),)
    assert settings["enable_external_access"] == "false" and settings["lock_configuration"] == "true"
    assert settings["autoinstall_known_extensions"] == "false" == settings["autoload_known_extensions"]
    assert str(Path(warehouse.root).resolve()) in settings["allowed_directories"]
    assert not list(outside.iterdir())


def test_query_reads_inside_the_warehouse_but_not_beside_it(warehouse, tmp_path):
    from warehouse.query import QueryError

    inside = Path(warehouse.root) / "articles" / f"date={DAY.isoformat()}" / "section=world" / "part-0.parquet"
    assert run_query(str(warehouse.root), f"SELECT count(*) AS n FROM read_parquet('{inside}')", "json") == '{"n": 2}'
    beside = tmp_path / "beside.csv"
    beside.write_text("a\n1\n")
    with pytest.raises(QueryError, match="Permission"):
        run_query(str(warehouse.root), f"SELECT * FROM read_csv('{beside}')")
    with pytest.raises(QueryError, match="Permission"):
        run_query(str(warehouse.root), f"SELECT * FROM read_csv('{warehouse.root}/../../{tmp_path.name}/beside.csv')")


# --- rows and formats ------------------------------------------------------------------------------


def _many(tmp_path, n=34):
    root = tmp_path / "many"
    write_partitions(root, "articles", [article(100 + i, DAY, "politics", hour=i % 24) for i in range(n)])
    return str(root)


def test_table_shows_20_rows_and_says_so_max_rows_shows_more(tmp_path):
    root = _many(tmp_path)
    sql = "SELECT article_id FROM articles ORDER BY article_id"
    ids = [f"japannews:{100 + i}" for i in range(34)]
    default = main_query(root, sql)
    assert sum(i in default for i in ids) == 20 and "more than 20 rows" in default and "--max-rows 0" in default
    every = main_query(root, sql, max_rows=0)
    assert all(i in every for i in ids) and "more than" not in every
    five = main_query(root, sql, max_rows=5)
    assert sum(i in five for i in ids) == 5 and "more than 5 rows" in five


def test_csv_and_json_give_every_row_unless_max_rows(tmp_path):
    root = _many(tmp_path)
    sql = "SELECT article_id FROM articles ORDER BY article_id"
    assert len(main_query(root, sql, "csv").splitlines()) == 1 + 34
    assert len(main_query(root, sql, "json").splitlines()) == 34
    assert len(main_query(root, sql, "json", max_rows=3).splitlines()) == 3
    out = tmp_path / "all.csv"
    assert main_query(root, sql, "csv", str(out)) == f"wrote 34 rows to {out}"
    with pytest.raises(ValueError, match="max-rows"):
        main_query(root, sql, max_rows=-1)


def test_cli_query_max_rows_and_format(tmp_path, capsys):
    from newsline.cli import main

    root = _many(tmp_path)
    assert main(["query", "SELECT article_id FROM articles", "--format", "json", "--warehouse", root]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 34
    assert main(["query", "SELECT article_id FROM articles", "--max-rows", "0", "--warehouse", root]) == 0
    assert capsys.readouterr().out.count("japannews:1") == 34


# --- user errors -----------------------------------------------------------------------------------


def _cli_error(argv, capsys) -> str:
    from newsline.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("newsline: error: ")]
    return line


@pytest.mark.parametrize("command", ["query", "report"])
def test_missing_or_file_warehouse_is_an_error_not_an_empty_result(tmp_path, capsys, command):
    (tmp_path / "file").write_text("x")
    args = {"query": ["query", "SELECT count(*) FROM articles"],
            "report": ["report", "--date", DAY.isoformat(), "--staging", str(tmp_path / "st")]}[command]
    line = _cli_error([*args, "--warehouse", str(tmp_path / "typo")], capsys)
    assert line == f"newsline: error: warehouse {tmp_path / 'typo'} does not exist"
    line = _cli_error([*args, "--warehouse", str(tmp_path / "file")], capsys)
    assert line == f"newsline: error: warehouse {tmp_path / 'file'} is not a directory"
    assert not (tmp_path / "st").exists()


def test_unwritable_output_is_one_line(warehouse, capsys):
    line = _cli_error(["query", "SELECT 1 AS x", "--format", "csv", "--out", "/proc/newsline/x.csv",
                       "--warehouse", str(warehouse.root)], capsys)
    assert "/proc/newsline" in line


@pytest.mark.parametrize("command", ["query", "report"])
def test_unreachable_s3_endpoint_is_one_line(tmp_path, capsys, monkeypatch, command):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(key, value)
    args = {"query": ["query", "SELECT 1"],
            "report": ["report", "--date", DAY.isoformat(), "--staging", str(tmp_path)]}[command]
    line = _cli_error([*args, "--warehouse", "s3://nowhere/wh"], capsys)
    assert line.startswith("newsline: error: warehouse s3://nowhere/wh cannot be reached: ")


def test_user_error_knows_oserror_valueerror_and_botocore_only():
    from botocore.exceptions import EndpointConnectionError

    from newsline.cli import user_error

    assert user_error(ValueError("bad day")) == "bad day"
    assert user_error(PermissionError(13, "Permission denied", "/wh/articles")) == "Permission denied: /wh/articles"
    assert user_error(OSError(28, "No space left on device")) == "No space left on device"
    assert "Could not connect" in user_error(EndpointConnectionError(endpoint_url="http://x"))
    assert user_error(KeyError("bug")) is None and user_error(TypeError("bug")) is None


# --- the DuckDB database file ----------------------------------------------------------------------


def test_export_db_writes_views_usable_from_any_duckdb_client(warehouse, tmp_path, capsys):
    import duckdb

    from newsline.cli import main

    assert main(["query", "--export-db", "--warehouse", str(warehouse.root)]) == 0
    path = Path(warehouse.root) / "_duckdb" / "newsline.duckdb"
    assert str(path) in capsys.readouterr().out
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)  # the views use absolute paths: a client started anywhere reads them
    try:
        con = duckdb.connect(str(path), read_only=True)
        assert dict(con.execute("SELECT date, count(*) FROM articles GROUP BY 1").fetchall()) == {
            d: len(warehouse.rows(d)) for d in (DAY, PREVIOUS, OLD)}
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE articles)").fetchall())
        assert types["date"] == "DATE" and types["published_at"] == "TIMESTAMP WITH TIME ZONE"
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM article_revisions").fetchone() == (0,)  # typed, empty
        con.close()
    finally:
        os.chdir(cwd)
    # the views do not show the database folder as a partition, and a chosen path works too
    assert run_query(str(warehouse.root), "SELECT count(*) AS n FROM articles", "json") == json.dumps(
        {"n": len(warehouse.articles)})
    other = tmp_path / "mine.duckdb"
    assert main(["query", "--export-db", str(other), "SELECT count(*) AS n FROM articles", "--format", "json",
                 "--warehouse", str(warehouse.root)]) == 0
    assert other.exists() and json.dumps({"n": len(warehouse.articles)}) in capsys.readouterr().out


def test_table_says_when_its_row_cap_and_not_max_rows_cut_the_output(tmp_path, monkeypatch):
    import warehouse.query as query

    root = _many(tmp_path)
    monkeypatch.setattr(query, "_BOX_LIMIT", 10)  # DuckDB's box draws at most 10,000 rows: the same rule, smaller
    text = main_query(root, "SELECT article_id FROM articles", max_rows=0)
    assert "a table shows at most 10; --format csv or json prints every row" in text
    assert "--max-rows 0 shows all" not in text
