"""``newsline sites list | check | init``: the site profiles from a data engineer's seat.

* ``list``: the registered profiles (key, domains, timezone, discovery, schedule, DAG id).
* ``check KEY``: validates the profile (errors name the file and the field), checks its selectors
  against its fixtures, then crawls a few recent articles with the real spider and prints per-field
  coverage and where the profile's values disagree with the generic extractor's.
* ``init URL``: probes a site (robots.txt, sitemaps, feeds, one sample article) and writes a draft
  profile with what it found, printing a field-coverage table.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from core.sites import SiteProfile, all_sites, get_site, load_profile, site_key_for_host, sites_dir

#: Fields reported by ``check`` and ``init`` (raw item names).
REPORT_FIELDS = ("title", "byline", "authors", "published_time", "modified_time", "description", "section",
                 "keywords", "image_url", "language", "paragraphs")
USER_AGENT = "NewslineBot/0.1 (+https://github.com/newsline/newsline; site profile probe)"


def add_sites_parser(sub: Any) -> None:
    p = sub.add_parser("sites", help="site profiles: list, check one, draft a new one")
    ssub = p.add_subparsers(dest="sites_command", required=True)

    q = ssub.add_parser("list", help="the registered sites")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_list)

    q = ssub.add_parser("check", help="validate a profile, test it on its fixtures and on N live articles")
    q.add_argument("key", help="site key, or a path to a profile file")
    q.add_argument("--pages", type=int, default=5, help="articles to crawl (0 = only validate; default 5)")
    q.add_argument("--base-url", dest="base_url", help="crawl this root instead of the profile's base_url")
    q.add_argument("--date", help="day to crawl, YYYY-MM-DD in the site's timezone (default: the last closed day)")
    q.set_defaults(func=cmd_check)

    q = ssub.add_parser("init", help="probe a site and write a draft profile")
    q.add_argument("url", help="the site's home page, e.g. https://news.example.com/")
    q.add_argument("--sample-url", dest="sample_url", help="an article page to learn from (default: one it finds)")
    q.add_argument("--key", help="site key (default: derived from the host name)")
    q.add_argument("--timezone", default=None, help="IANA timezone of the site (default: guessed, else UTC)")
    q.add_argument("--out", help="where to write the draft (default: sites/<key>.yaml)")
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=cmd_init)


# --- list ------------------------------------------------------------------------------------------------


def discovery_summary(site: SiteProfile) -> str:
    d = site.discovery
    parts = []
    if d.robots:
        parts.append("robots")
    if d.sitemaps or d.month_sitemap or d.follow:
        parts.append("sitemaps")
    if d.news_sitemap:
        parts.append("news-sitemap")
    if d.feeds:
        parts.append(f"feeds({len(d.feeds)})")
    if d.listings:
        parts.append(f"listings({len(d.listings)})")
    return "+".join(parts)


def cmd_list(args: argparse.Namespace) -> int:
    sites = all_sites()
    rows = [{"key": s.key, "name": s.name, "domains": s.domains, "timezone": s.timezone,
             "discovery": discovery_summary(s), "schedule": f"{s.schedule.cron} ({s.timezone})",
             "dag_id": s.dag, "profile": s.source_file} for s in sites.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(_table(["key", "domains", "timezone", "discovery", "schedule", "dag_id"],
                 [[r["key"], ",".join(r["domains"]), r["timezone"], r["discovery"], r["schedule"], r["dag_id"]]
                  for r in rows]))
    print(f"{len(rows)} site(s) in {sites_dir()}")
    return 0


def _table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- check -----------------------------------------------------------------------------------------------


def fixtures_dir(site: SiteProfile) -> Path:
    """``<sites folder>/fixtures/<key>/``: saved pages (``*.html``) with ``*.json`` expectations."""
    base = Path(site.source_file).parent if site.source_file else sites_dir()
    return base / "fixtures" / site.key


def fixture_cases(site: SiteProfile) -> list[tuple[Path, dict[str, Any]]]:
    """(page, expectation) pairs; the expectation holds ``url`` and ``expected`` (articles-table fields)."""
    folder = fixtures_dir(site)
    cases = []
    for page in sorted(folder.glob("*.html")):
        meta = page.with_suffix(".json")
        if meta.is_file():
            cases.append((page, json.loads(meta.read_text(encoding="utf-8"))))
    return cases


def check_selectors(site: SiteProfile) -> list[str]:
    """Problems of the profile's selectors on its fixtures: a CSS/XPath source that matches nothing
    on any fixture page, a body container that is absent. Each names the file and the field."""
    from parsel import Selector

    from crawler.parsers.base import decode_html

    cases = fixture_cases(site)
    if not cases:
        return []
    pages = [Selector(text=decode_html(p.read_bytes()), type="html") for p, _ in cases]
    problems = []
    where = site.source_file or site.key
    for name, sources in site.fields.items():
        for i, src in enumerate(sources):
            if src.css is None and src.xpath is None:
                continue
            hit = any((sel.css(src.css) if src.css else sel.xpath(src.xpath or "")) for sel in pages)
            if not hit:
                what = f"css {src.css!r}" if src.css else f"xpath {src.xpath!r}"
                problems.append(f"{where}: field 'fields.{name}[{i}]': {what} matches nothing on the fixtures "
                                f"in {fixtures_dir(site)}")
    if site.body is not None:
        container = site.body.container
        shown = container if isinstance(container, str) else container.xpath
        if not any((sel.css(container) if isinstance(container, str) else sel.xpath(container.xpath)) for sel in pages):
            problems.append(f"{where}: field 'body.container': {shown!r} matches nothing on the "
                            f"fixtures in {fixtures_dir(site)}")
    return problems


def fixture_differences(site: SiteProfile) -> list[str]:
    """Fields where the profile's output on a fixture differs from the fixture's expectation."""
    from newsline.extract import extract_page

    out = []
    for page, case in fixture_cases(site):
        record = extract_page(page.read_bytes(), case["url"], site=site, fetched_at=datetime(2030, 1, 1, tzinfo=UTC))
        for field, want in (case.get("expected") or {}).items():
            if record.get(field) != want:
                out.append(f"{page.name}: {field}: got {record.get(field)!r}, expected {want!r}")
    return out


def last_closed_day(tz: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date() - timedelta(days=1)


def cmd_check(args: argparse.Namespace) -> int:
    site = load_profile(args.key) if args.key.endswith((".yaml", ".yml")) else get_site(args.key)
    print(f"profile {site.source_file}: valid ({len(site.fields)} field(s) declared, "
          f"body {'declared' if site.body else 'generic'}, hook {site.hook or 'none'})")
    problems = check_selectors(site)
    diffs = fixture_differences(site)
    n_cases = len(fixture_cases(site))
    print(f"fixtures: {n_cases} page(s) in {fixtures_dir(site)}; {len(diffs)} field difference(s)")
    for line in problems + diffs:
        print(f"  {line}")
    if args.pages <= 0:
        return 1 if problems or diffs else 0
    report = crawl_sample(site, pages=args.pages, base_url=args.base_url, day=args.date)
    print(report["text"])
    return 1 if problems or diffs or report["failed"] else 0


def crawl_sample(site: SiteProfile, *, pages: int, base_url: str | None, day: str | None) -> dict[str, Any]:
    """Crawl up to ``pages`` articles of one day with the real spider; coverage and generic agreement."""
    from core.config import base_url_for, load_settings

    day = day or last_closed_day(site.timezone).isoformat()
    root = base_url_for(site.key, site.base_url, load_settings(base_url=base_url or ""))
    with tempfile.TemporaryDirectory(prefix="newsline-check-") as tmp:
        cmd = [sys.executable, "-m", "crawler.run", "--site", site.key, "--date", day, "--base-url", root,
               "--out", tmp, "--run-id", "sites-check", "--page-budget", str(pages), "--time-budget", "300",
               "--log-level", "WARNING"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        items = _read_jsonl(Path(tmp) / "items.jsonl")
        rejections = _read_jsonl(Path(tmp) / "rejections.jsonl")
        pages_html = _archived_pages(Path(tmp) / "archive.warc.gz")
    lines = [f"crawl of {site.key} {day} from {root}: {len(items)} article(s), {len(rejections)} rejected "
             f"(exit {proc.returncode})"]
    if proc.returncode != 0:
        lines.append("  " + "\n  ".join(proc.stderr.strip().splitlines()[-5:]))
    shown = [r for r in rejections if "page budget" not in str(r.get("reason"))]
    for r in shown[:10]:
        lines.append(f"  rejected {r.get('url')}: {r.get('kind')}: {r.get('reason')}")
    lines.append(coverage_and_agreement(site, items, pages_html))
    return {"text": "\n".join(lines), "failed": proc.returncode != 0 or not items}


def coverage_and_agreement(site: SiteProfile, items: list[dict[str, Any]], pages_html: dict[str, bytes]) -> str:
    """Per field: share of items with a value, its provenance, and agreement with the generic extractor."""
    from crawler.parsers.base import PageRejected, decode_html
    from crawler.parsers.fallback import generic_fields

    mapping = {"published_time": "published_at", "modified_time": "modified_at", "description": "summary"}
    agree: Counter[str] = Counter()
    compared: Counter[str] = Counter()
    for item in items:
        html = pages_html.get(item.get("url", ""))
        if html is None:
            continue
        try:
            generic = generic_fields(decode_html(html), item["url"], site)
        except PageRejected:
            continue
        for f in REPORT_FIELDS:
            mine = item.get(f)
            theirs = generic.get(mapping.get(f, f))
            if mine in (None, [], "") or theirs in (None, [], ""):
                continue
            compared[f] += 1
            agree[f] += _same(f, mine, theirs)
    rows = []
    n = len(items) or 1
    for f in REPORT_FIELDS:
        have = sum(1 for it in items if it.get(f) not in (None, [], ""))
        how = Counter((it.get("extraction") or {}).get(mapping.get(f, "body" if f == "paragraphs" else f), "hook")
                      for it in items if it.get(f) not in (None, [], ""))
        agreement = f"{agree[f]}/{compared[f]}" if compared[f] else "-"
        rows.append([f, f"{have}/{len(items)} ({have / n:.0%})", ", ".join(f"{k}×{v}" for k, v in how.most_common(2)),
                     agreement])
    return _table(["field", "coverage", "from", "agrees with generic"], rows)


def _same(field: str, mine: Any, theirs: Any) -> bool:
    if field == "paragraphs":
        from crawler.parsers.generic import body_agreement

        return body_agreement(list(mine), list(theirs)) >= 0.9
    if field in ("published_time", "modified_time"):
        from transforms.timestamps import parse_iso

        a, b = parse_iso(mine), parse_iso(theirs)
        return a is not None and b is not None and abs((a - b).total_seconds()) < 120
    norm = lambda v: " ".join(str(v).split()).casefold()  # noqa: E731
    if isinstance(mine, list) or isinstance(theirs, list):
        return sorted(map(norm, mine if isinstance(mine, list) else [mine])) == sorted(
            map(norm, theirs if isinstance(theirs, list) else [theirs]))
    return norm(mine) == norm(theirs)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _archived_pages(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        return {}
    from warcio.archiveiterator import ArchiveIterator

    out: dict[str, bytes] = {}
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                out[record.rec_headers.get_header("WARC-Target-URI") or ""] = record.content_stream().read()
    return out


# --- init ------------------------------------------------------------------------------------------------


def fetch(url: str, timeout: float = 15) -> tuple[int, bytes, str]:
    """(status, body, content type) of one GET; status 0 when the host cannot be reached."""
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(20_000_000), resp.headers.get("Content-Type") or ""
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""
    except (urllib.error.URLError, OSError, ValueError):
        return 0, b"", ""


_DATE_SEG = re.compile(r"^(?:19|20)\d{2}$")


def url_template(path: str) -> str:
    """A regex generalising one article path: dates, ids and slugs become groups."""
    m = re.match(r"^/(\d{4})/(\d{2})/(\d{2})/", path)
    if m:
        rest = path[m.end():]
        return r"^/(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/" + _generalise(rest)
    return "^/" + _generalise(path.lstrip("/"))


def _generalise(rest: str) -> str:
    out = []
    segments = rest.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1 or (i == len(segments) - 2 and segments[-1] == "")
        if seg == "":
            continue
        if re.fullmatch(r"\d{8}-\d+", seg):
            out.append(r"(?P<date>\d{8})-(?P<id>\d+)")
        elif re.fullmatch(r"\d{8}", seg):
            out.append(r"(?P<date>\d{8})")
        elif m := re.fullmatch(r"([a-z0-9-]*?)-?a?(\d{4,})(\.html?)?", seg):
            prefix = "[a-z0-9-]+-" if m.group(1) else ""
            sep = "a" if re.search(r"-a\d{4,}", seg) else ""
            ext = re.escape(m.group(3)) if m.group(3) else ""
            out.append(f"{prefix}{sep}(?P<id>\\d+){ext}")
        elif last:
            ext = re.search(r"(\.html?)$", seg)
            out.append("[a-z0-9-]+" + (re.escape(ext.group(1)) if ext else ""))
        else:
            out.append(re.escape(seg) if not re.fullmatch(r"[a-z0-9-]+", seg) else "[a-z0-9-]+")
    tail = "/?$" if rest.endswith("/") else "$"
    return "/".join(out) + tail


def propose_pattern(urls: list[str]) -> str | None:
    """The commonest template of the article paths seen (None without any)."""
    templates = Counter(url_template(urlsplit(u).path or "/") for u in urls if urlsplit(u).path.count("/") >= 1)
    return templates.most_common(1)[0][0] if templates else None


def structured_data(html: str) -> dict[str, Any]:
    from parsel import Selector

    from crawler.parsers.jsonld import jsonld_blocks, jsonld_nodes, types_of

    sel = Selector(text=html, type="html")
    nodes = jsonld_nodes(jsonld_blocks(sel))
    return {
        "jsonld_types": sorted({t for n in nodes for t in types_of(n)}),
        "opengraph": sorted(set(sel.xpath("//meta[starts-with(@property, 'og:')]/@property").getall())),
        "article_meta": sorted(set(sel.xpath("//meta[starts-with(@property, 'article:')]/@property").getall())),
        "microdata": sorted(set(sel.xpath("//*[@itemtype]/@itemtype").getall()))[:5],
        "html_lang": sel.xpath("/html/@lang").get(),
        "feeds": sel.xpath("//link[@rel='alternate'][contains(@type, 'rss') or contains(@type, 'atom')]/@href")
                    .getall(),
    }


def cmd_init(args: argparse.Namespace) -> int:
    from crawler.discovery import DiscoveryError, parse_feed, parse_sitemap, robots_sitemaps

    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{args.url!r} is not an http(s) URL")
    base = f"{parts.scheme}://{parts.netloc}/"
    key = args.key or site_key_for_host(parts.hostname)
    out = Path(args.out) if args.out else sites_dir() / f"{key}.yaml"
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists; pass --force to overwrite it")
    notes: list[str] = []
    status, robots, _ = fetch(urljoin(base, "robots.txt"))
    if status == 0:
        raise ValueError(f"{base} cannot be reached")
    sitemaps = robots_sitemaps(robots.decode("utf-8", "replace"), base) if status == 200 else []
    notes.append(f"robots.txt: HTTP {status}, {len(sitemaps)} Sitemap line(s)")
    if not sitemaps:
        for guess in ("sitemap_index.xml", "sitemap.xml", "news-sitemap.xml", "sitemap-news.xml"):
            if fetch(urljoin(base, guess))[0] == 200:
                sitemaps.append(urljoin(base, guess))
    article_urls: list[str] = []
    news, follow, roots = [], [], []
    for sm in sitemaps[:5]:
        st, body, _ = fetch(sm)
        try:
            parsed = parse_sitemap(body) if st == 200 else None
        except DiscoveryError:
            parsed = None
        if parsed is None:
            notes.append(f"sitemap {sm}: unreadable (HTTP {st})")
            continue
        roots.append(urlsplit(sm).path.lstrip("/"))
        if parsed.kind == "index":
            children = [e.loc for e in parsed.entries]
            notes.append(f"sitemap index {sm}: {len(children)} child sitemap(s)")
            for child in children[:3]:
                name = urlsplit(child).path.rsplit("/", 1)[-1]
                follow.append(re.sub(r"\d+", r"\\d*", re.escape(name)) + "$")
                st2, body2, _ = fetch(child)
                try:
                    article_urls += [e.loc for e in parse_sitemap(body2).entries][:200] if st2 == 200 else []
                except DiscoveryError:
                    pass
        else:
            if "news" in sm:
                news.append(sm)
            article_urls += [e.loc for e in parsed.entries][:200]
    home_status, home, _ = fetch(base)
    home_html = home.decode("utf-8", "replace")
    feeds = structured_data(home_html)["feeds"] if home_status == 200 else []
    for guess in ("feed/", "rss.xml", "feed.xml", "rss/"):
        if not feeds and fetch(urljoin(base, guess))[0] == 200:
            feeds.append(urljoin(base, guess))
    for feed in feeds[:2]:
        st, body, _ = fetch(urljoin(base, feed))
        try:
            article_urls += [urljoin(base, e.loc) for e in parse_feed(body)] if st == 200 else []
        except DiscoveryError:
            pass
    article_urls = [u for u in dict.fromkeys(article_urls) if (urlsplit(u).hostname or "") == parts.hostname]
    pattern = propose_pattern(article_urls)
    sample = args.sample_url or (article_urls[0] if article_urls else None)
    coverage_rows: list[list[str]] = []
    data: dict[str, Any] = {}
    tz = args.timezone
    if sample:
        st, body, ctype = fetch(sample)
        if st == 200:
            from crawler.parsers.base import decode_html

            html = decode_html(body, content_type=ctype)
            data = structured_data(html)
            coverage_rows, published = _generic_coverage(html, sample)
            tz = tz or _guess_timezone(published)
        else:
            notes.append(f"sample {sample}: HTTP {st}")
    tz = tz or "UTC"
    draft = render_draft(key=key, host=parts.hostname, base=base, tz=tz, lang=(data.get("html_lang") or "en")[:2],
                         roots=roots, news=news, follow=follow, feeds=feeds, pattern=pattern or r"^/.+$",
                         sample=sample, data=data, notes=notes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(draft, encoding="utf-8")
    print(f"wrote {out}")
    for n in notes:
        print(f"  {n}")
    print(f"  discovery: {len(sitemaps)} sitemap(s), {len(feeds)} feed(s), {len(article_urls)} article URL(s) seen")
    print(f"  article URL pattern: {pattern or '(none found: edit article_url.pattern)'}")
    if data:
        print(f"  structured data: JSON-LD {data['jsonld_types'] or 'none'}; OpenGraph {len(data['opengraph'])} tag(s); "
              f"article:* {data['article_meta'] or 'none'}; microdata {data['microdata'] or 'none'}")
    if coverage_rows:
        print(_table(["field", "generic extractor value", "from"], coverage_rows))
    print(f"next: edit {out}, add fixtures under {out.parent / 'fixtures' / key}/, then `newsline sites check {key}`")
    return 0


def _generic_coverage(html: str, url: str) -> tuple[list[list[str]], str | None]:
    from crawler.parsers.base import PageRejected

    try:
        from crawler.parsers.generic import extract_article
    except ImportError:
        return [["(generic extractor not available)", "", ""]], None
    try:
        art = extract_article(html, url)
    except PageRejected as exc:
        return [["(rejected)", f"{exc.kind}: {exc.reason}", ""]], None
    rows = []
    for field in ("title", "byline", "authors", "published_at", "modified_at", "summary", "language", "keywords",
                  "image_url", "section"):
        value = getattr(art, field, None)
        shown = ", ".join(value) if isinstance(value, list) else (value or "")
        rows.append([field, str(shown)[:60] or "—", (art.provenance or {}).get(field, "")])
    words = sum(len(p.split()) for p in art.paragraphs)
    rows.append(["body", f"{len(art.paragraphs)} blocks, {words} words", (art.provenance or {}).get("body", "")])
    return rows, art.published_at


def _guess_timezone(published: str | None) -> str | None:
    """An offset seen in the publication time as a fixed-offset zone hint (``Etc/GMT-9`` for +09:00)."""
    if not published:
        return None
    m = re.search(r"([+-])(\d{2}):?(\d{2})$", published)
    if not m or m.group(3) != "00":
        return None
    hours = int(m.group(2))
    if hours == 0:
        return None
    return f"Etc/GMT{'-' if m.group(1) == '+' else '+'}{hours}"


def render_draft(*, key: str, host: str, base: str, tz: str, lang: str, roots: list[str], news: list[str],
                 follow: list[str], feeds: list[str], pattern: str, sample: str | None, data: dict[str, Any],
                 notes: list[str]) -> str:
    def q(v: str) -> str:
        return "'" + v.replace("'", "''") + "'"

    lines = [
        f"# Draft profile written by `newsline sites init` on {datetime.now(UTC).date()} from {base}",
        f"# sample article: {sample or 'none found'}",
        *(f"# {n}" for n in notes),
    ]
    if data:
        lines.append(f"# JSON-LD types: {', '.join(data['jsonld_types']) or 'none'}; OpenGraph: "
                     f"{'yes' if data['opengraph'] else 'no'}; article:* meta: {', '.join(data['article_meta']) or 'none'}")
    if tz.startswith("Etc/"):
        lines.append("# timezone: a fixed offset guessed from the sample's publication time; use the site's IANA zone")
    lines += [
        f"key: {key}",
        f"name: {q(host)}",
        "extends: generic",
        f"domains: [{host.removeprefix('www.')}]",
        f"base_url: {base}",
        f"timezone: {tz}",
        f"language: {lang}",
        "discovery:",
        f"  sitemaps: [{', '.join(q(r) for r in roots)}]",
    ]
    if follow:
        lines.append(f"  follow: [{', '.join(q(f) for f in dict.fromkeys(follow))}]")
    if feeds:
        lines.append(f"  feeds: [{', '.join(q(urlsplit(f).path.lstrip('/') or f) for f in feeds[:3])}]")
    lines += [
        "article_url:",
        f"  pattern: {q(pattern)}",
        "# fields: add ordered sources per field to override the generic extractor, e.g.",
        "#   title: [{css: 'h1.headline'}, {meta: 'og:title'}]",
        "# body: {container: 'article', blocks: 'p, h2', exclude: ['.related', '.newsletter']}",
        "",
    ]
    return "\n".join(lines)
