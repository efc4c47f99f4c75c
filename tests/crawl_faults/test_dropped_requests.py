"""The demo site's offsite-redirect and redirect-loop faults: each page fails with its true reason
(Scrapy's filters used to drop them silently: "not fetched: the crawl stopped first", pages_failed 0)."""

from __future__ import annotations

from faultkit import DAY, crawl_outputs, spec

from newsline.pipeline import crawl


def test_offsite_redirect_and_redirect_loop_fail_with_their_reason(demo, tmp_path) -> None:
    paths = sorted("/" + r["url"].split("/", 3)[3] for r in demo.truth(day=DAY))
    offsite, loop = paths[0], paths[1]
    demo.set_faults(f"force=offsite-redirect@{offsite}+redirect-loop@{loop}")
    stats = crawl(spec(tmp_path, demo.base_url, "dropped"), incremental=False)
    report, items, rejections = crawl_outputs(tmp_path / "runs" / "japannews" / DAY.isoformat() / "dropped")
    by_path = {"/" + r["url"].split("/", 3)[3]: r for r in rejections}
    assert set(by_path) == {offsite, loop}
    assert by_path[offsite]["kind"] == "failed" and "offsite redirect to" in by_path[offsite]["reason"]
    assert by_path[loop]["kind"] == "failed" and "redirect loop" in by_path[loop]["reason"]
    assert report["pages_failed"] == stats["pages_failed"] == 2 and report["pages_not_fetched"] == 0
    assert report["offsite_dropped"] >= 1
    assert len(items) == report["articles_discovered"] - 2
