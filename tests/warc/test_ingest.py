"""`newsline ingest-warc` against the demo CC-NEWS collection: the warehouse equals the demo truth of
the ingested captures field by field, the summary accounts for every record, the day boundary
follows the site's timezone, a re-run resumes and changes nothing."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from newsline.cli import main
from newsline.ingest_warc import ingest_warc
from tests.truth import rows_by_id
from warehouse.reader import read_articles


def stored(overrides) -> dict[str, dict]:
    return rows_by_id(read_articles(overrides["warehouse"]).to_dict("records"))


def digest(overrides) -> dict[str, str]:
    root = Path(overrides["warehouse"]) / "articles"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.parquet"))}


def expected_summary(collection, day: date, kept: int) -> dict:
    c = collection.day_counts(day)
    return {
        "records_seen": sum(v for k, v in c.items() if k != "lost"),
        "not_response": c.get("warcinfo", 0) + c.get("request", 0) + c.get("metadata", 0),
        "revisit": c.get("revisit", 0),
        "other_domain": c.get("other_domain", 0),
        "non_html": c.get("non_html", 0),
        "not_article": c.get("not_article", 0) + c.get("redirect", 0),  # the /?p=N redirect is no article URL
        "captures": c.get("article", 0),
        "dropped_captures": c.get("article", 0) - kept,
        "truncated": sum(1 for f in collection.files_on(day) if f.truncated),
    }


def check_summary(summary, collection, day: date) -> None:
    truth = collection.truth([day])
    exp = expected_summary(collection, day, len(truth))
    sk = summary["skipped"]
    assert summary["records_seen"] == exp["records_seen"]
    assert summary["records_accounted"] is True
    for reason in ("not_response", "revisit", "other_domain", "non_html", "not_article", "truncated"):
        assert sk[reason] == exp[reason], reason
    assert summary["captures_parsed"] == exp["captures"]
    assert summary["articles_kept"] == {"japannews": len(truth)}
    assert sk["duplicate"] + sk["superseded"] == exp["dropped_captures"]
    assert summary["files_failed"] == exp["truncated"] == len(summary["failed_files"])
    assert summary["quarantined"] == {"japannews": 0}
    assert summary["files_listed"] == len(collection.files_on(day))


def test_a_day_over_http_lands_exactly_the_captured_versions(collection, http_collection, overrides) -> None:
    day = date(2024, 9, 4)  # holds the truncated file, revisions and duplicates
    summary = ingest_warc(day, collection=http_collection.base_url, overrides=overrides, sleep=lambda s: None)
    truth = rows_by_id(collection.truth([day]))
    got = stored(overrides)
    assert set(got) == set(truth)
    for article_id, row in truth.items():
        assert got[article_id] == row, article_id
    check_summary(summary, collection, day)
    assert summary["skipped"]["duplicate"] > 0 and summary["skipped"]["superseded"] > 0
    assert summary["sites"]["japannews"]["new"] == len(truth)

    # resume: nothing is read again, nothing changes
    before = digest(overrides)
    n_requests = len(http_collection.requests)
    again = ingest_warc(day, collection=http_collection.base_url, overrides=overrides, sleep=lambda s: None)
    warc_gets = [r for r in http_collection.requests[n_requests:] if r[1].endswith(".warc.gz")]
    complete = [f for f in collection.files_on(day) if not f.truncated]
    # only the file that could not be read to its end is tried again
    assert {p for (_, p, _) in warc_gets} == {f.rel_path for f in collection.files_on(day) if f.truncated}
    assert again["files_resumed"] == len(complete)
    assert again["files_read"] == len(collection.files_on(day)) - len(complete)
    assert again["sites"]["japannews"]["new"] == again["sites"]["japannews"]["updated"] == 0
    check_summary(again, collection, day)
    assert digest(overrides) == before

    forced = ingest_warc(day, collection=http_collection.base_url, overrides=overrides, force=True,
                         sleep=lambda s: None)
    assert forced["files_read"] == len(collection.files_on(day)) and forced["files_resumed"] == 0
    assert digest(overrides) == before


def test_day_boundary_follows_the_sites_timezone(collection, collection_dir, overrides) -> None:
    """The files crawled on UTC 2024-09-03 hold articles published after 00:00 JST on 09-04: they land
    in the date=2024-09-04 partition, as a live crawl would put them."""
    utc_day = date(2024, 9, 3)
    summary = ingest_warc(utc_day, collection=str(collection_dir), overrides=overrides)
    frame = read_articles(overrides["warehouse"])
    assert len(frame) == len(collection.truth([utc_day])) > 0
    assert set(frame["date"].astype(str)) == {"2024-09-04"}
    assert (frame["published_at"].dt.tz_convert("UTC").dt.date == utc_day).all()
    assert stored(overrides) == rows_by_id(collection.truth([utc_day]))
    check_summary(summary, collection, utc_day)


def test_a_day_from_s3(collection, s3_collection, overrides) -> None:
    day = date(2024, 9, 5)
    summary = ingest_warc(day, collection=s3_collection, overrides=overrides)
    assert stored(overrides) == rows_by_id(collection.truth([day]))
    check_summary(summary, collection, day)


def test_a_listed_file_that_is_gone_counts_as_failed(collection, collection_dir, tmp_path, overrides) -> None:
    import shutil

    day = date(2024, 9, 6)
    copy = tmp_path / "copy"
    shutil.copytree(collection_dir, copy)
    gone = collection.files_on(day)[0]
    (copy / gone.rel_path).unlink()
    summary = ingest_warc(day, collection=str(copy), overrides=overrides)
    assert summary["files_failed"] == 1 and summary["failed_files"][0]["file"] == gone.name
    assert "not found" in summary["failed_files"][0]["errors"][0]
    assert summary["files_read"] == len(collection.files_on(day))
    assert summary["records_accounted"]


def test_max_files_and_the_command_line(collection, collection_dir, overrides, capsys) -> None:
    day = date(2024, 9, 6)
    first = collection.files_on(day)[0]
    rc = main(["ingest-warc", "--date", day.isoformat(), "--collection", str(collection_dir), "--max-files", "1",
               "--warehouse", overrides["warehouse"], "--staging", overrides["staging"]])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"[1/1] {first.name}" in out and "files: 1 listed, 1 read" in out
    assert "every record accounted: True" in out
    assert len(stored(overrides)) == len({c.post_id for c in first.captures})


@pytest.mark.parametrize("argv, message", [
    (["--collection", "/does/not/exist"], "does not exist"),
    (["--sites", "nosuchsite"], "unknown site"),
    (["--sites", "japannews", "--all-news"], "exclude each other"),
    (["--route-host", "nohost"], "HOST=SITE"),
    (["--collection", "http://127.0.0.1:9/"], "cannot read http://127.0.0.1:9/crawl-data/CC-NEWS/2024/09/warc.paths.gz"),
])
def test_user_errors_are_one_line(collection_dir, overrides, capsys, argv, message) -> None:
    args = ["ingest-warc", "--date", "2024-09-06", "--staging", overrides["staging"]]
    if "--collection" not in argv:
        args += ["--collection", str(collection_dir)]
    with pytest.raises(SystemExit) as exc:
        main(args + argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("newsline: error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)


@pytest.mark.slow
def test_every_day_of_the_collection_gives_the_sites_final_state(collection, collection_dir, overrides) -> None:
    days = sorted({f.started.date() for f in collection.files})
    for day in days:
        s = ingest_warc(day, collection=str(collection_dir), overrides=overrides)
        assert s["records_accounted"]
    assert stored(overrides) == rows_by_id(collection.site.truth("https://japannews.yomiuri.co.jp/"))


def test_all_news_reads_unregistered_domains_with_the_generic_extractor(collection, collection_dir, overrides,
                                                                          capsys) -> None:
    """--all-news: pages of domains without a profile go through the generic extractor under a site key
    derived from their host; nothing is skipped as other_domain and every such page is accounted for."""
    day = date(2024, 9, 6)
    summary = ingest_warc(day, collection=str(collection_dir), all_news=True, overrides=overrides,
                          sleep=lambda s: None)
    assert summary["skipped"].get("other_domain", 0) == 0
    generic_sites = {k for k in summary["sites"] if k != "japannews"}
    assert generic_sites == {"news-example-org", "example-com", "blog-example-net"}
    for key in generic_sites:
        per = summary["sites"][key]
        assert per["articles_kept"] + per["rejected_pages"] >= 1
        assert per["articles_clean"] + per["quarantined"] == per["articles_kept"] + per["rejected_pages"]
    assert summary["articles_kept"]["japannews"] == len(collection.truth([day]))
