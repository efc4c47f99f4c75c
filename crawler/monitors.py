"""End-of-crawl monitors in the spirit of spidermon: pure checks of one crawl's report.

Each monitor compares one number of ``crawl.json`` (plus item field coverage counted by the item
pipeline) with a threshold from the Scrapy settings (``NEWSLINE_MONITOR_*`` in ``crawler.settings``).
A failed monitor makes ``crawler.run`` exit non-zero so the orchestrator's crawl task fails loudly,
while crawl.json still records what was seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


def blocked_message(blocked: int, fetched_ok: int) -> str:
    """The crawl's blocking verdict in words (the crawler's report and the orchestrator's shard merge)."""
    return f"site is blocking: {blocked} of {fetched_ok} pages empty/challenge"


#: Item fields whose coverage is watched, with the setting holding each minimum share.
COVERAGE_FIELDS: dict[str, str] = {
    "title": "NEWSLINE_MONITOR_MIN_TITLE_COVERAGE",
    "paragraphs": "NEWSLINE_MONITOR_MIN_BODY_COVERAGE",
    "published_time": "NEWSLINE_MONITOR_MIN_PUBLISHED_COVERAGE",
    "section": "NEWSLINE_MONITOR_MIN_SECTION_COVERAGE",
}
#: How a crawl may end and still count: Scrapy's ``finished``, or cut short by the time budget.
OK_FINISH_REASONS: tuple[str, ...] = ("finished", "closespider_timeout")
#: Every monitor's threshold (a Scrapy setting of the same name overrides it). Shares are of final
#: outcomes, after retries.
DEFAULT_THRESHOLDS: dict[str, Any] = {
    "NEWSLINE_MONITOR_MIN_ARTICLE_SHARE": 0.8,  # stored + unchanged + not-article ÷ discovered (minus over budget)
    "NEWSLINE_MONITOR_MIN_TITLE_COVERAGE": 0.98,
    "NEWSLINE_MONITOR_MIN_BODY_COVERAGE": 0.98,
    "NEWSLINE_MONITOR_MIN_PUBLISHED_COVERAGE": 0.95,
    "NEWSLINE_MONITOR_MIN_SECTION_COVERAGE": 0.95,
    "NEWSLINE_MONITOR_MAX_ERROR_RATE": 0.15,  # failed ÷ fetched article pages
    "NEWSLINE_MONITOR_MAX_RETRY_RATE": 0.5,  # retries ÷ all requests
    "NEWSLINE_MONITOR_FINISH_REASONS": list(OK_FINISH_REASONS),
    "NEWSLINE_MONITOR_MIN_SAMPLE": 10,  # shares over fewer pages are reported, never fatal
}


@dataclass(frozen=True)
class MonitorResult:
    name: str
    ok: bool
    value: Any
    threshold: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def run_monitors(report: Mapping[str, Any], coverage: Mapping[str, int], thresholds: Mapping[str, Any]) -> list[MonitorResult]:
    """Every monitor's verdict for one crawl.

    ``coverage`` maps an item field to how many scraped items had it filled. Rates are computed on
    final outcomes (after retries): a 503 that a retry recovered is a retry, not an error."""
    t = {**DEFAULT_THRESHOLDS, **{k: v for k, v in thresholds.items() if v is not None}}
    sample = int(t["NEWSLINE_MONITOR_MIN_SAMPLE"])
    out: list[MonitorResult] = []

    def judged(ok: bool, size: int) -> bool:
        """Shares of fewer than ``sample`` pages are reported but do not fail the crawl: one bad
        page of five is noise, not a trend (the pipeline's own checks catch an empty day)."""
        return ok or size < sample

    promised = int(report.get("articles_discovered", 0)) - int(report.get("pages_over_budget", 0))
    delivered = (int(report.get("items_scraped", 0)) + int(report.get("pages_skipped_unchanged", 0))
                 + int((report.get("rejected_by_kind") or {}).get("not_article", 0)))
    share = _share(delivered, promised)
    minimum = float(t["NEWSLINE_MONITOR_MIN_ARTICLE_SHARE"])
    ok = judged(share is None or share >= minimum, promised)
    out.append(MonitorResult(
        "article_count", ok, share, minimum,
        f"{delivered} of {promised} discovered articles stored or unchanged (minimum share {minimum})",
    ))

    items = int(report.get("items_scraped", 0))
    for fieldname, key in COVERAGE_FIELDS.items():
        value = _share(int(coverage.get(fieldname, 0)), items)
        minimum = float(t[key])
        ok = judged(value is None or value >= minimum, items)
        out.append(MonitorResult(
            f"field_coverage:{fieldname}", ok, value, minimum,
            f"{coverage.get(fieldname, 0)} of {items} items have {fieldname} (minimum share {minimum})",
        ))

    def at_most(name: str, num: int, den: int, key: str, what: str) -> None:
        rate = _share(num, den)
        maximum = float(t[key])
        out.append(MonitorResult(name, judged(rate is None or rate <= maximum, den), rate, maximum,
                                 f"{what} (maximum share {maximum})"))

    fetched = int(report.get("pages_fetched", 0))
    failed = int(report.get("pages_failed", 0))
    at_most("http_error_rate", failed, fetched, "NEWSLINE_MONITOR_MAX_ERROR_RATE",
            f"{failed} of {fetched} article pages failed after retries")
    retries = int(report.get("retry_count", 0))
    requests = int(report.get("requests_total", 0))
    at_most("retry_rate", retries, requests, "NEWSLINE_MONITOR_MAX_RETRY_RATE",
            f"{retries} retries for {requests} requests")

    reason = report.get("finish_reason")
    allowed = list(t["NEWSLINE_MONITOR_FINISH_REASONS"])
    out.append(MonitorResult(
        "finish_reason", reason in allowed, reason, allowed, f"the crawl finished with {reason!r}",
    ))
    return out


def failed_monitors(monitors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in monitors if not m.get("ok")]
