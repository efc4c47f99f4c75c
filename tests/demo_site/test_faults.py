"""Each fault at the HTTP level (http.client / urllib), deterministic and accounted for."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import xml.etree.ElementTree as ET
import zlib
from datetime import date

import defusedxml.ElementTree as DET
import pytest
from defusedxml import DefusedXmlException
from demo_pagecheck import fetch, read_article

from demo_site import DemoServer, DemoSite
from demo_site.faults import KINDS, FaultConfig, FaultPlan

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def small_site() -> DemoSite:
    return DemoSite(days=[date(2024, 9, 4), date(2024, 9, 5)], articles_per_day=12, seed_article=False)


@pytest.fixture
def make_server(small_site):
    started: list[DemoServer] = []

    def make(faults: FaultConfig | str | None) -> DemoServer:
        srv = DemoServer(small_site, faults=faults).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def _article_path(site: DemoSite, k: int = 0) -> str:
    return site.articles[k].path


def test_faults_are_off_by_default(small_site, make_server):
    srv = make_server(None)
    assert not srv.faults.active
    for spec in small_site.articles:
        assert fetch(srv.base_url + spec.path.lstrip("/")).status == 200
    assert fetch(srv.base_url + "sitemap.xml").status == 200
    assert srv.fault_events == []


def test_a_burst_of_connections_is_queued_not_dropped(small_site):
    """A crawler opens up to CONCURRENT_REQUESTS connections at once. With socketserver's default listen
    backlog (5) the kernel dropped the SYNs beyond it and the client resent them a second later: every
    demo crawl stalled ~1 s. Connect 64 times to a bound server that accepts none of them yet: each
    connect must complete from the backlog (a dropped SYN would wait past the timeout)."""
    srv = DemoServer(small_site, announce=False)
    httpd = srv._bind()  # listening, not serving: nothing drains the backlog
    conns: list[socket.socket] = []
    try:
        for _ in range(64):
            conns.append(socket.create_connection(("127.0.0.1", srv.port), timeout=0.5))
    finally:
        for conn in conns:
            conn.close()
        httpd.server_close()
    assert len(conns) == 64


def test_decisions_are_deterministic_per_seed_and_url(small_site):
    paths = [s.path for s in DemoSite().articles]
    cfg = FaultConfig(seed=3, rates={"error": 0.3, "empty": 0.2})
    first = [FaultPlan(cfg).kind_for(p) for p in paths]
    assert first == [FaultPlan(cfg).kind_for(p) for p in paths]
    assert first != [FaultPlan(cfg.with_changes(seed=4)).kind_for(p) for p in paths]
    share = sum(k == "error" for k in first) / len(paths)
    assert 0.15 < share < 0.45
    assert FaultPlan(cfg).kind_for("/sitemap.xml") is None  # default scope: article pages only


def test_error_burst_then_success_with_exact_accounting(small_site, make_server):
    srv = make_server(FaultConfig(seed=1, rates={"error": 0.4}, burst=2))
    chosen = [s.path for s in small_site.articles if srv.plan.kind_for(s.path) == "error"]
    assert chosen
    for spec in small_site.articles:
        url = srv.base_url + spec.path.lstrip("/")
        statuses = [fetch(url).status for _ in range(3)]
        if spec.path in chosen:
            assert statuses[0] in (500, 503) and statuses[1] in (500, 503) and statuses[2] == 200
        else:
            assert statuses == [200, 200, 200]
    events = srv.fault_events
    assert len(events) == 2 * len(chosen)
    assert {(e.path, e.attempt) for e in events} == {(p, a) for p in chosen for a in (1, 2)}
    served = json.loads(fetch(srv.base_url + "_newsline/faults.json").body)
    assert len(served["events"]) == len(events)


def test_throttle_429_with_retry_after(small_site, make_server):
    path = _article_path(small_site)
    srv = make_server(FaultConfig(force={path: "throttle"}, burst=1, retry_after=2))
    first = fetch(srv.base_url + path.lstrip("/"))
    assert first.status == 429 and first.headers["retry-after"] == "2"
    assert fetch(srv.base_url + path.lstrip("/")).status == 200


def test_slow_response_exceeds_a_client_timeout(small_site, make_server):
    path = _article_path(small_site)
    srv = make_server(FaultConfig(force={path: "slow"}, burst=1, slow_seconds=1.0))
    with pytest.raises((socket.timeout, TimeoutError)):
        fetch(srv.base_url + path.lstrip("/"), timeout=0.3)
    assert fetch(srv.base_url + path.lstrip("/"), timeout=5).status == 200


def test_connection_reset(small_site, make_server):
    path = _article_path(small_site)
    srv = make_server(FaultConfig(force={path: "reset"}, burst=1))
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        fetch(srv.base_url + path.lstrip("/"))
    assert fetch(srv.base_url + path.lstrip("/")).status == 200
    assert [e.kind for e in srv.fault_events] == ["reset"]


def test_truncated_body(small_site, make_server):
    path = _article_path(small_site)
    srv = make_server(FaultConfig(force={path: "truncate"}, burst=1))
    with pytest.raises(http.client.IncompleteRead):
        fetch(srv.base_url + path.lstrip("/"))
    assert fetch(srv.base_url + path.lstrip("/")).status == 200


def test_missing_and_wrong_charset(small_site, make_server):
    first, others = _article_path(small_site, 0), [s.path for s in small_site.articles[1:9]]
    srv = make_server(FaultConfig(force={first: "charset-missing", **{p: "charset-wrong" for p in others}}))
    missing = fetch(srv.base_url + first.lstrip("/"))
    assert missing.headers["content-type"] == "text/html" and b"charset" not in missing.body[:400].lower()
    missing.body.decode("utf-8")
    variants = set()
    for path in others:
        wrong = fetch(srv.base_url + path.lstrip("/"))
        event = [e for e in srv.fault_events if e.path == path][-1]
        variants.add(event.detail)
        clean = read_article(srv.page(path, {}).body)
        if event.detail == "header-latin1":
            assert wrong.headers["content-type"].endswith("charset=ISO-8859-1")
            assert read_article(wrong.body.decode("utf-8")) == clean  # the body really is UTF-8
        else:
            assert wrong.headers["content-type"].endswith("charset=UTF-8")
            with pytest.raises(UnicodeDecodeError):
                wrong.body.decode("utf-8")
            assert "Keene’s" in wrong.body.decode("cp1252")
            assert read_article(wrong.body.decode("cp1252")) == clean  # recoverable as windows-1252
    assert variants == {"header-latin1", "body-cp1252"}


def test_malformed_html_still_holds_the_same_article(small_site, make_server):
    path = _article_path(small_site, 2)
    srv = make_server(FaultConfig(force={path: "malformed"}))
    broken = fetch(srv.base_url + path.lstrip("/")).body
    clean = srv.page(path, {}).body  # the same page without the fault, rendered for the same base URL
    assert b"</p>" not in broken and b"</body>" not in broken and broken != clean
    assert read_article(broken) == read_article(clean)


def test_redirect_loop_and_offsite_redirect(small_site, make_server):
    a, b = _article_path(small_site, 0), _article_path(small_site, 1)
    srv = make_server(FaultConfig(force={a: "redirect-loop", b: "offsite-redirect"}))
    url = srv.base_url + a.lstrip("/")
    seen = []
    for _ in range(4):
        resp = fetch(url)
        assert resp.status == 302
        url = resp.headers["location"]
        seen.append(url)
    assert seen[0] == seen[2] and seen[1] == seen[3] and seen[0] != seen[1]
    off = fetch(srv.base_url + b.lstrip("/"))
    assert off.status == 302 and off.headers["location"].startswith("http://offsite.example.invalid/")


def test_oversized_and_gzip_bomb(small_site, make_server):
    a, b = _article_path(small_site, 0), _article_path(small_site, 1)
    srv = make_server(
        FaultConfig(force={a: "oversized", b: "gzip-bomb"}, oversized_bytes=3_000_000, bomb_bytes=32 * 1024 * 1024)
    )
    big = fetch(srv.base_url + a.lstrip("/"))
    assert len(big.body) >= 3_000_000 and int(big.headers["content-length"]) == len(big.body)
    bomb = fetch(srv.base_url + b.lstrip("/"))
    assert bomb.headers["content-encoding"] == "gzip"
    assert len(bomb.body) < 100_000
    inflated = zlib.decompressobj(31).decompress(bomb.body, 4_000_000)
    assert len(inflated) == 4_000_000  # capped read: the full stream is 32 MiB


def test_bot_protection_pages(small_site, make_server):
    a, b = _article_path(small_site, 0), _article_path(small_site, 1)
    srv = make_server(FaultConfig(force={a: "empty", b: "challenge"}))
    empty = fetch(srv.base_url + a.lstrip("/"))
    assert empty.status == 200 and len(empty.body) < 100
    challenge = fetch(srv.base_url + b.lstrip("/"))
    assert challenge.status == 200 and b"challenge-platform" in challenge.body
    assert b"p-article-block" not in challenge.body


def test_query_parameter_forces_one_request(small_site, make_server):
    srv = make_server(None)
    path = _article_path(small_site)
    assert fetch(srv.base_url + path.lstrip("/") + "?_fault=throttle").status == 429
    assert fetch(srv.base_url + path.lstrip("/")).status == 200


def test_tracking_duplicates_in_sitemaps_and_feeds(small_site, make_server):
    srv = make_server(FaultConfig(seed=2, tracking=0.5))
    month = ET.fromstring(fetch(srv.base_url + "sitemap-posttype-post.20249.xml").body)
    locs = [el.findtext(f"{SM}loc") for el in month.iter(f"{SM}url")]
    tracked = [u for u in locs if "utm_source=" in u]
    assert tracked and all(u.split("?", 1)[0] in locs for u in tracked)
    assert len({u.split("?", 1)[0] for u in locs}) == len(small_site.articles)
    page = fetch(tracked[0])
    assert page.status == 200 and read_article(page.body)["url"] == tracked[0].split("?", 1)[0]
    feed = fetch(srv.base_url + "feed/").text
    assert "utm_source=" in feed


@pytest.mark.parametrize("kind", ["xxe", "billion-laughs"])
def test_hostile_sitemaps_are_refused_by_a_safe_parser(make_server, kind):
    srv = make_server(FaultConfig(hostile=kind))
    body = fetch(srv.base_url + "sitemap-news.xml").body
    assert b"<!ENTITY" in body
    with pytest.raises(DefusedXmlException):
        DET.fromstring(body)
    assert [e.kind for e in srv.fault_events] == ["hostile-xml"]
    assert fetch(srv.base_url + "sitemap-posttype-post.20249.xml").status == 200


def test_gzipped_sitemap_children(small_site, make_server):
    srv = make_server(FaultConfig(gzip_sitemaps=True))
    assert "sitemap-news.xml.gz" in fetch(srv.base_url + "robots.txt").text
    index = ET.fromstring(fetch(srv.base_url + "sitemap.xml").body)
    children = [el.findtext(f"{SM}loc") for el in index.iter(f"{SM}sitemap")]
    assert children and all(c.endswith(".xml.gz") for c in children)
    month = next(c for c in children if "posttype-post" in c)
    resp = fetch(month)
    assert resp.headers["content-type"] == "application/x-gzip"
    urls = {el.findtext(f"{SM}loc") for el in ET.fromstring(gzip.decompress(resp.body)).iter(f"{SM}url")}
    assert len(urls) == len(small_site.articles)


SOURCE_PATHS = {
    "sitemap-index": ["sitemap.xml"],
    "news-sitemap": ["sitemap-news.xml"],
    "post-sitemaps": ["sitemap-posttype-post.20249.xml"],
    "feeds": ["feed/", "politics/feed/", "politics/politics-government/feed"],
    "listings": ["latestnews/", "politics/", "politics/politics-government/", "latestnews/page/2/"],
}


@pytest.mark.parametrize("source", sorted(SOURCE_PATHS))
def test_each_discovery_source_can_be_removed(make_server, source):
    srv = make_server(FaultConfig(remove=frozenset({source})))
    for path in SOURCE_PATHS[source]:
        assert fetch(srv.base_url + path).status == 404, path
    for other, paths in SOURCE_PATHS.items():
        if other != source and not (source == "listings" and other == "listings"):
            assert fetch(srv.base_url + paths[0]).status == 200, (source, other)
    robots = fetch(srv.base_url + "robots.txt").text
    if source == "sitemap-index":
        assert "sitemap.xml" not in robots
    if source in ("news-sitemap", "post-sitemaps"):
        index = fetch(srv.base_url + "sitemap.xml").text
        assert ("sitemap-news.xml" if source == "news-sitemap" else "posttype-post") not in index
    removed = [e for e in srv.fault_events if e.kind == "removed-source"]
    assert len(removed) == len(SOURCE_PATHS[source])
    assert fetch(srv.base_url + "no-such-page/").status == 404
    assert len([e for e in srv.fault_events if e.kind == "removed-source"]) == len(removed)


def test_spec_strings_and_runtime_control(small_site, make_server):
    cfg = FaultConfig.parse(
        "error=0.2,burst=3,seed=9,remove=feeds+listings,hostile=xxe,gzip_sitemaps=1,"
        "tracking=0.1,force=reset@/a/b/20240904-1/"
    )
    assert cfg.rates == {"error": 0.2} and cfg.burst == 3 and cfg.seed == 9
    assert cfg.remove == frozenset({"feeds", "listings"}) and cfg.hostile == "xxe" and cfg.gzip_sitemaps
    assert cfg.force == {"/a/b/20240904-1/": "reset"} and cfg.tracking == 0.1
    for bad in ("explode=1", "remove=robots", "hostile=zip", "force=melt@/x/"):
        with pytest.raises(ValueError):
            FaultConfig.parse(bad)
    assert set(KINDS) >= {"error", "throttle", "slow", "reset", "truncate", "empty", "challenge", "gzip-bomb"}
    srv = make_server(None)
    assert fetch(srv.base_url + "_newsline/faults?spec=remove%3Dfeeds").status == 200
    assert fetch(srv.base_url + "feed/").status == 404
    assert fetch(srv.base_url + "_newsline/faults?spec=bogus%3D1").status == 400
    assert fetch(srv.base_url + "_newsline/faults?spec=").status == 200
    assert fetch(srv.base_url + "feed/").status == 200
