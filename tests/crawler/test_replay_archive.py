"""crawler.replay's archive reading and answering, on small WARC files written here (no crawl)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.middlewares import FETCHED_AT_META
from crawler.replay import WarcReplayMiddleware, archive_base_url, read_archives

BASE = "http://127.0.0.1:8765"


def _warc(path: Path, records: list[tuple[str, str, int, bytes]]) -> Path:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        for url, when, status, body in records:
            headers = StatusAndHeaders(f"{status} X", [("Content-Type", "text/html; charset=utf-8"),
                                                       ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body), http_headers=headers,
                                                          warc_headers_dict={"WARC-Date": when}))
    return path


def test_latest_response_wins_but_a_304_never_hides_a_page(tmp_path) -> None:
    first = _warc(tmp_path / "a.warc.gz", [
        (f"{BASE}/a", "2024-09-06T10:00:00.000001Z", 200, b"a1"),
        (f"{BASE}/b", "2024-09-06T10:00:00Z", 200, b"b1"),
    ])
    second = _warc(tmp_path / "b.warc.gz", [
        (f"{BASE}/a", "2024-09-07T10:00:00Z", 200, b"a2"),
        (f"{BASE}/b", "2024-09-07T10:00:00Z", 304, b""),
    ])
    got = read_archives([first, second])
    assert got[f"{BASE}/a"].body == b"a2"
    assert (got[f"{BASE}/b"].status, got[f"{BASE}/b"].body) == (200, b"b1")
    assert archive_base_url([first, second], "/news/") == f"{BASE}/news/"


def test_the_middleware_answers_from_the_archive_and_refuses_the_rest(tmp_path) -> None:
    archive = _warc(tmp_path / "a.warc.gz", [(f"{BASE}/a", "2024-09-06T10:00:00.5Z", 200, "é".encode())])
    crawler = get_crawler(settings_dict={"NEWSLINE_REPLAY_ARCHIVES": [str(archive)]})
    crawler.stats.open_spider()
    mw = WarcReplayMiddleware.from_crawler(crawler)
    request = Request(f"{BASE}/a?utm_source=x", meta={"article_url": f"{BASE}/a"})
    response = mw.process_request(request)
    assert (response.status, response.text, response.url) == (200, "é", f"{BASE}/a")
    assert "replayed" in response.flags
    assert request.meta[FETCHED_AT_META] == "2024-09-06T10:00:00.500000+00:00"
    assert crawler.stats.get_value("newsline/replayed") == 1
    with pytest.raises(IgnoreRequest, match=f"not in the archive: {BASE}/b"):
        mw.process_request(Request(f"{BASE}/b"))
