"""Sharded crawls, the pure parts: how many shards a day makes, how URLs are cut, how the shards' crawl
reports add up to one, and the crawler's refusal of contradictory shard arguments."""

from __future__ import annotations

import pytest

from core.sites import Sharding
from newsline.pipeline import merge_reports, split_shards


@pytest.mark.parametrize(("urls", "size", "most", "want"), [
    (0, 1000, 8, 1), (44, 1000, 8, 1), (1000, 1000, 8, 1), (1001, 1000, 8, 2), (44, 11, 8, 4), (44, 12, 4, 4),
    (100_000, 1000, 8, 8),
])
def test_shard_count(urls: int, size: int, most: int, want: int) -> None:
    assert Sharding(shard_size=size, max_shards=most).shard_count(urls) == want


def test_default_profile_keeps_an_ordinary_day_in_one_shard() -> None:
    from core.sites import get_site

    assert get_site("japannews").crawl.shard_count(500) == 1


@pytest.mark.parametrize(("n", "count"), [(0, 1), (3, 1), (10, 3), (11, 4), (7, 8)])
def test_split_is_contiguous_ordered_and_balanced(n: int, count: int) -> None:
    entries = [{"url": f"u{i:03d}"} for i in range(n)]
    shards = split_shards(entries, count)
    assert len(shards) == count
    assert [e for part in shards for e in part] == entries
    sizes = [len(p) for p in shards]
    assert max(sizes) - min(sizes) <= 1


def _report(**values) -> dict:
    base = {"articles_discovered": 0, "discovered_by_source": {"sitemap": 0}, "pages_fetched": 0, "pages_ok": 0,
            "pages_failed": 0, "pages_blocked": 0, "items_scraped": 0, "requests_total": 0,
            "http_status_counts": {}, "field_coverage": {"title": 0}, "page_budget": 0, "blocked_threshold": 0.2,
            "finish_reason": "finished", "monitors": [], "started_at": "2024-09-06T00:00:00+00:00",
            "finished_at": "2024-09-06T00:00:10+00:00", "duration_s": 10.0, "discovered_urls": []}
    return {**base, **values}


def test_merge_sums_fetch_counts_and_keeps_discovery_facts() -> None:
    discovery = _report(articles_discovered=5, discovered_by_source={"sitemap": 5}, requests_total=3,
                        http_status_counts={"200": 3}, discovered_urls=["a", "b", "c", "d", "e"],
                        finished_at="2024-09-06T00:00:05+00:00")
    one = _report(articles_discovered=3, discovered_by_source={"sitemap": 3}, pages_fetched=3, pages_ok=3,
                  items_scraped=3, requests_total=4, http_status_counts={"200": 4}, field_coverage={"title": 3},
                  started_at="2024-09-06T00:00:06+00:00", finished_at="2024-09-06T00:00:20+00:00",
                  monitors=[{"name": "article_count", "ok": True}])
    two = _report(articles_discovered=2, discovered_by_source={"sitemap": 2}, pages_fetched=2, pages_ok=1,
                  pages_failed=1, items_scraped=1, requests_total=5, http_status_counts={"200": 2, "500": 3},
                  field_coverage={"title": 1}, started_at="2024-09-06T00:00:06+00:00",
                  finished_at="2024-09-06T00:00:30+00:00", finish_reason="closespider_timeout")
    merged = merge_reports(discovery, [one, two])
    assert merged["articles_discovered"] == 5 and merged["discovered_by_source"] == {"sitemap": 5}
    assert merged["discovered_urls"] == ["a", "b", "c", "d", "e"]
    assert (merged["pages_fetched"], merged["pages_failed"], merged["items_scraped"]) == (5, 1, 4)
    assert merged["requests_total"] == 12 and merged["http_status_counts"] == {"200": 9, "500": 3}
    assert merged["field_coverage"] == {"title": 4}
    assert merged["duration_s"] == 30.0 and merged["finished_at"] == "2024-09-06T00:00:30+00:00"
    assert merged["finish_reason"] == "closespider_timeout"
    assert merged["shards"] == 2 and merged["shard_pages_fetched"] == [3, 2]
    assert merged["monitors"] == [{"name": "article_count", "ok": True, "shard": "000"}]
    assert merged["blocking"] is False


def test_merge_recomputes_blocking_on_the_totals() -> None:
    shards = [_report(pages_ok=10, pages_blocked=1), _report(pages_ok=10, pages_blocked=4)]
    merged = merge_reports(_report(), shards)
    assert merged["blocked_share"] == 0.25 and merged["blocking"] is True
    assert merged["blocking_message"] == "site is blocking: 5 of 20 pages empty/challenge"


def test_merging_the_reports_imports_no_scrapy() -> None:
    """``transform`` merges the shards' reports in a worker's task process: Scrapy and Twisted (~0.1 s
    of imports) belong to the crawler's own process only."""
    import subprocess
    import sys

    from core.config import REPO_ROOT

    code = ("import sys\nfrom newsline.pipeline import merge_reports\n"
            "m = merge_reports({'pages_ok': 10, 'pages_blocked': 5}, [{'pages_ok': 1}])\n"
            "assert m['blocking_message'], m\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'scrapy', 'twisted'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO_ROOT),
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_crawler_refuses_contradictory_shard_arguments(tmp_path, capsys) -> None:
    from crawler.run import EXIT_USAGE, main

    common = ["--site", "japannews", "--date", "2024-09-06", "--base-url", "http://127.0.0.1:9/",
              "--out", str(tmp_path / "out"), "--run-id", "t"]
    assert main([*common, "--urls", str(tmp_path / "missing.jsonl")]) == EXIT_USAGE
    assert "is not a file" in capsys.readouterr().err
    urls = tmp_path / "urls.jsonl"
    urls.write_text("")
    assert main([*common, "--urls", str(urls), "--discover-only"]) == EXIT_USAGE
    assert "exclude each other" in capsys.readouterr().err
