"""Raw parser items → rows of the articles table, plus a quarantine of the rows that fail validation.

Pure: frames in, frames out; no IO, no clock (every timestamp comes from the items themselves), so
re-running a day's items gives the same frames. Validation is lazy: a bad row is quarantined with
every reason it fails, not only the first, so one look at the quarantine tells the whole story.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from core.items import ArticleItem
from core.schema import (
    ACCESS_VALUES,
    ARTICLES_SCHEMA,
    CONTENT_COLUMNS,
    QUARANTINE_SCHEMA,
    SCHEMA_VERSION,
    UTC_TS,
)
from core.sections import is_slug
from core.sites import Site
from transforms import text as T
from transforms.fingerprint import simhash
from transforms.timestamps import iso_utc, local_date, parse_iso, parse_postdate

log = logging.getLogger(__name__)

#: The raw columns ``clean_articles`` reads: exactly the fields of ``ArticleItem``.
RAW_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ArticleItem))
ARTICLE_COLUMNS: tuple[str, ...] = tuple(ARTICLES_SCHEMA.names)
QUARANTINE_COLUMNS: tuple[str, ...] = tuple(QUARANTINE_SCHEMA.names)

#: A published time this far past the fetch time is a broken clock or a misparsed date.
FUTURE_TOLERANCE = timedelta(days=1)
#: Stand-in time for a quarantine row when neither it nor its batch has a usable timestamp: pure
#: code cannot ask the clock, and a recognisable constant beats a plausible lie.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_NATIVE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DETAIL_MAX = 80

_TIMESTAMP_COLUMNS = frozenset(f.name for f in ARTICLES_SCHEMA if f.type == UTC_TS)
_INT_DTYPES = {"revision": "int32", "word_count": "int32", "schema_version": "int16", "simhash": "int64"}


@dataclass
class CleanResult:
    """What ``clean_articles`` returns: rows to write, rows to quarantine, and the batch accounting."""

    articles: pd.DataFrame
    quarantine: pd.DataFrame
    duplicates_collapsed: int = 0


# --- raw items --------------------------------------------------------------------------------------


def items_frame(items: Iterable[Mapping[str, Any] | ArticleItem]) -> pd.DataFrame:
    """One row per raw item, one ``object`` column per ArticleItem field (missing fields as None).

    Object columns keep lists and odd values exactly as the parser produced them, so cleaning and
    quarantine see the raw item and pandas does not coerce anything on the way.
    """
    rows: list[Mapping[str, Any]] = []
    for item in items:
        if isinstance(item, ArticleItem):
            rows.append(item.to_dict())
        elif isinstance(item, Mapping):
            rows.append(item)
        else:
            raise TypeError(f"items_frame expects dicts or ArticleItems, got {type(item).__name__}")
    return pd.DataFrame(
        {c: pd.Series([r.get(c) for r in rows], dtype=object) for c in RAW_COLUMNS},
        columns=list(RAW_COLUMNS),
    )


# --- cleaning -----------------------------------------------------------------------------------------


def clean_articles(raw: pd.DataFrame, *, site: Site, run_id: str) -> CleanResult:
    """Normalise and validate raw items into the articles frame (``ARTICLES_SCHEMA`` columns, in order).

    Every input row ends up either in ``articles`` or in ``quarantine``, except exact duplicates
    (same ``article_id``) of which only the latest version is kept and the rest counted in
    ``duplicates_collapsed``. ``first_seen_at`` and ``near_duplicate_of`` stay null: the warehouse
    sets them. Raises only if ``raw`` lacks one of the ``RAW_COLUMNS`` (a wiring error).
    """
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise KeyError(f"raw items frame lacks column(s) {', '.join(missing)}; build it with items_frame()")
    records = [_plain_record(r) for r in raw[list(RAW_COLUMNS)].to_dict("records")]
    stamps = [parse_iso(r.get("fetched_at")) for r in records]
    batch_stamp = max((s for s in stamps if s is not None), default=EPOCH)

    kept: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for position, (record, stamp) in enumerate(zip(records, stamps, strict=True)):
        try:
            row, reasons = clean_record(record, site=site, run_id=run_id)
        except Exception as exc:  # noqa: BLE001 - a bug in one rule must not lose the whole batch
            log.exception("transform failed on item %s", record.get("url"))
            row, reasons = None, [f"internal_error: {type(exc).__name__}: {_short(str(exc))}"]
        if reasons or row is None:
            bad.append({
                "site": site.key,
                "url": _best_url(record),
                "reason": "; ".join(reasons),
                "raw": record,
                "quarantined_at": stamp or batch_stamp,
            })
        else:
            row["_position"] = position
            kept.append(row)

    latest, collisions = _latest_versions(kept, site)
    for row in collisions:
        bad.append({
            "site": site.key,
            "url": row["url"],
            "reason": row["_collision"],
            "raw": records[row["_position"]],
            "quarantined_at": row["fetched_at"],
        })
    kept_count = len(kept) - len(collisions)
    articles = _articles_frame(latest)
    quarantine = quarantine_frame(bad, run_id=run_id, stage="transform")
    if bad:
        log.info("transform: %d clean, %d quarantined (%d id collisions), %d duplicates collapsed",
                 len(latest), len(bad), len(collisions), kept_count - len(latest))
    return CleanResult(articles=articles, quarantine=quarantine, duplicates_collapsed=kept_count - len(latest))


def clean_record(record: Mapping[str, Any], *, site: Site, run_id: str) -> tuple[dict[str, Any] | None, list[str]]:
    """One raw item → ``(row, reasons)``. ``reasons`` is empty when the row is valid; otherwise it
    lists every rule the item breaks (``code: detail``) and ``row`` is None."""
    reasons: list[str] = []

    item_site = T.normalise_text(record.get("site"))
    if item_site is not None and item_site != site.key:
        reasons.append(f"site_mismatch: item site {_q(item_site)} cleaned as {_q(site.key)}")

    title, revision = _title(record, site)
    if title is None:
        reasons.append("missing_title: h1, og:title and <title> empty")

    dateline, body = T.split_body(record.get("paragraphs"), site.dateline)
    if body is None:
        reasons.append("empty_body: no non-empty paragraph")

    published_at = (
        parse_iso(record.get("published_time"), ZoneInfo(site.timezone))
        or parse_iso(record.get("jsonld_published"), ZoneInfo(site.timezone))
        or parse_postdate(record.get("postdate"), site.timezone)
    )
    if published_at is None:
        reasons.append(
            "bad_published_at: meta "
            f"{_q(record.get('published_time'))}, JSON-LD {_q(record.get('jsonld_published'))} and postdate "
            f"{_q(record.get('postdate'))} unparseable"
        )
    modified_at = (
        parse_iso(record.get("modified_time"), ZoneInfo(site.timezone))
        or parse_iso(record.get("jsonld_modified"), ZoneInfo(site.timezone))
        or published_at
    )
    fetched_at = parse_iso(record.get("fetched_at"))
    if fetched_at is None:
        reasons.append(f"bad_fetched_at: {_q(record.get('fetched_at'))} is not an ISO timestamp")

    day: date | None = None
    if published_at is not None:
        try:
            day = local_date(published_at, site.timezone)
        except (OverflowError, ValueError):
            reasons.append(f"bad_date: no {site.timezone} date for {published_at.isoformat()}")

    native = T.normalise_text(record.get("section_native"))
    raw_section = T.normalise_text(record.get("section"))
    raw_subsection = T.normalise_text(record.get("subsection"))
    section_native = native or "/".join(p for p in (raw_section, raw_subsection) if p) or None
    if native is not None:
        section = site.map_section(native)
    else:
        section = site.map_section(raw_section) if is_slug(raw_section) else raw_section
    if section is None:
        reasons.append("missing_section: no section slug")
    elif not is_slug(section):
        reasons.append(f"bad_section: {_q(section)} is not a slug")
    subsection = T.normalise_text(record.get("subsection"))
    if subsection is not None and not is_slug(subsection):
        reasons.append(f"bad_subsection: {_q(subsection)} is not a slug")

    url = _same_site_url(record.get("canonical_url"), record.get("url"), site) or _valid_url(record.get("url"))
    if url is None:
        reasons.append(
            f"bad_url: canonical {_q(record.get('canonical_url'))} and fetched {_q(record.get('url'))} "
            "are not absolute http(s) URLs"
        )

    article_id, id_reason = _article_id(record.get("native_id"), url, site)
    if id_reason:
        reasons.append(id_reason)

    access_raw = record.get("access") if isinstance(record.get("access"), str) else None
    access = T.access_of(access_raw, site.access.free, site.access.missing)
    if access not in ACCESS_VALUES:
        reasons.append(f"bad_access: {_q(access)}")

    if published_at is not None and fetched_at is not None and published_at > fetched_at + FUTURE_TOLERANCE:
        reasons.append(
            f"future_published_at: {published_at.isoformat()} is more than a day after fetched_at "
            f"{fetched_at.isoformat()}"
        )

    if reasons:
        return None, reasons

    byline = T.normalise_text(record.get("byline"))
    authors = T.clean_paragraphs(record.get("authors")) if record.get("authors") is not None else None
    row: dict[str, Any] = {
        "article_id": article_id,
        "site": site.key,
        "url": url,
        "title": title,
        "revision": revision,
        "date": day,
        "section": section,
        "subsection": subsection,
        "dateline": dateline,
        "byline": byline,
        "authors": authors if authors else T.authors_of(byline),
        "body": body,
        "summary": T.strip_markup(T.normalise_text(record.get("description"))),
        "published_at": published_at,
        "modified_at": modified_at,
        "language": T.normalise_text(record.get("language")) or site.language,
        "access": access,
        "access_raw": access_raw,
        "keywords": T.clean_keywords(record.get("keywords")),
        "image_url": T.normalise_text(record.get("image_url")),
        "image_caption": T.normalise_text(record.get("image_caption")),
        "image_credit": T.normalise_text(record.get("image_credit")),
        "word_count": len(body.split()) if body else 0,
        "fetched_at": fetched_at,
        "first_seen_at": None,
        "run_id": run_id,
        "simhash": simhash(f"{title}\n\n{body}"),
        "near_duplicate_of": None,
        "schema_version": SCHEMA_VERSION,
        "section_native": section_native,
        "extraction": _extraction_json(record.get("extraction")),
        "extraction_confidence": _confidence(record.get("extraction_confidence")),
    }
    row["content_hash"] = content_hash(row)
    return row, []


def content_hash(row: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the ``CONTENT_COLUMNS`` (timestamps as ISO UTC strings).

    What a reader sees and nothing else: a re-crawl of an unchanged page hashes the same.
    """
    values = {c: _canonical(row.get(c)) for c in CONTENT_COLUMNS}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, np.ndarray):
        return [_canonical(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def _title(record: Mapping[str, Any], site: Site) -> tuple[str | None, int]:
    """The first usable headline of h1, og:title, <title> (minus the site suffix), without its
    "(UPDATE n)" mark, and n."""
    candidates = (
        T.normalise_text(record.get("title")),
        T.strip_site_suffix(T.normalise_text(record.get("og_title")), site.name, site.title.strip_suffix),
        T.strip_site_suffix(T.normalise_text(record.get("html_title")), site.name, site.title.strip_suffix),
    )
    for candidate in candidates:
        title, revision = T.split_update_mark(candidate, site.title.revision_marker)
        if title is not None:
            counter = _int_or_none(record.get("revision"))
            return title, counter if counter is not None else revision
    return None, 0


def _same_site_url(canonical: object, fetched: object, site: Site) -> str | None:
    """The canonical URL when it is on the site (its domains, or the fetched page's own host and
    port); None otherwise, so the fetched URL is kept. A canonical elsewhere (another port, another
    host, a path escaping the site) is never trusted."""
    url = _valid_url(canonical)
    if url is None:
        return None
    parts = urlsplit(url)
    if ".." in parts.path.split("/"):
        return None
    fetched_url = _valid_url(fetched)
    if fetched_url is not None and urlsplit(fetched_url).netloc.lower() == parts.netloc.lower():
        return url
    if fetched_url is None and site.owns_host(parts.hostname) and parts.port is None:
        return url
    if fetched_url is not None and site.owns_host(parts.hostname) and site.owns_host(urlsplit(fetched_url).hostname):
        return url
    return None


def _int_or_none(value: object) -> int | None:
    text = T.normalise_text(value) if not isinstance(value, int) else str(value)
    return int(text) if text is not None and text.isdecimal() and len(text) <= 6 else None


def _extraction_json(value: object) -> str | None:
    """The provenance map as canonical JSON (nested ``agreement`` scores kept as numbers)."""
    if isinstance(value, Mapping) and value:
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return None


def _confidence(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(min(1.0, max(0.0, value)))
    return None


def _valid_url(value: object) -> str | None:
    url = T.normalise_text(value)
    if url is None or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _article_id(native: object, url: str | None, site: Site) -> tuple[str | None, str | None]:
    """``<site>:<native id>``, else ``<site>:u<16 hex of sha256(url)>``; or a reason it has none."""
    if isinstance(native, (int, np.integer)) and not isinstance(native, bool):
        native = str(native)
    native_text = T.normalise_text(native)
    if native_text is not None:
        if _NATIVE_ID_RE.match(native_text):
            return f"{site.key}:{native_text}", None
        return None, f"bad_article_id: native id {_q(native_text)} is not a plain token"
    if url is None:
        return None, "missing_article_id: no native id and no valid URL to hash"
    return f"{site.key}:u{hashlib.sha256(url.encode()).hexdigest()[:16]}", None


def _best_url(record: Mapping[str, Any]) -> str | None:
    """The URL a quarantine row is filed under: valid canonical, valid fetched, else whatever text."""
    return (
        _valid_url(record.get("canonical_url"))
        or _valid_url(record.get("url"))
        or T.normalise_text(record.get("canonical_url"))
        or T.normalise_text(record.get("url"))
    )


def _latest_versions(rows: list[dict[str, Any]], site: Site) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per article_id, and the rows that only *claim* an id another page owns.

    Rows sharing an article_id are versions of one article when they share the URL or the body
    (the latest by modified_at, revision, fetched_at wins; the others are counted as collapsed).
    A row with a different URL *and* a different body is another page carrying the same post id
    (a copied body class or shortlink): it is returned as a collision, to be quarantined with an
    ``id_collision: …`` reason instead of vanishing. Which page owns the id: the one whose own URL
    carries that id (the site's ``article_url`` ``id`` group; the body id wins over the URL id in
    the parser, so a page at ``…-991001/`` whose body says ``postid-900001`` cannot take the id from
    the page at ``…-900001/``); when no URL carries it, the latest version. The warehouse's
    incremental index therefore maps each id to the URL that owns it.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["article_id"], []).append(row)
    best: list[dict[str, Any]] = []
    collisions: list[dict[str, Any]] = []
    for article_id, group in groups.items():
        native = article_id.split(":", 1)[1]
        owners = [r for r in group if _url_id(r["url"], site) == native] or group
        owner = max(owners, key=lambda r: (_version_key(r), r["_position"]))
        versions = [owner]
        for row in group:
            if row is owner:
                continue
            if row["url"] == owner["url"] or row["body"] == owner["body"]:
                versions.append(row)
                continue
            url_id = _url_id(row["url"], site)
            said = f" (its URL says {url_id})" if url_id and url_id != native else ""
            row["_collision"] = (f"id_collision: {article_id} is owned by {_short(owner['url'])}, "
                                 f"this page {_short(row['url'])}{said} has a different URL and body")
            collisions.append(row)
        best.append(max(versions, key=lambda r: (_version_key(r), r["_position"])))
    return sorted(best, key=lambda r: r["_position"]), sorted(collisions, key=lambda r: r["_position"])


def _url_id(url: str | None, site: Site) -> str | None:
    """The article id in a URL's path per the site's ``article_url`` pattern (None without one)."""
    if not url:
        return None
    m = site.article_re.match(urlsplit(url).path)
    if m is None or "id" not in m.re.groupindex:
        return None
    return m.group("id")


def _version_key(row: Mapping[str, Any]) -> tuple[datetime, int, datetime]:
    return (row["modified_at"], row["revision"], row["fetched_at"])


# --- frames -------------------------------------------------------------------------------------------


def _articles_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows → a frame whose dtypes convert losslessly to ``ARTICLES_SCHEMA``, also when empty."""
    columns: dict[str, pd.Series] = {}
    for name in ARTICLE_COLUMNS:
        values = [r[name] for r in rows]
        if name in _TIMESTAMP_COLUMNS:
            columns[name] = pd.Series(
                [pd.NaT if v is None else v for v in values], dtype="datetime64[us, UTC]"
            )
        elif name in _INT_DTYPES:
            columns[name] = pd.Series(values, dtype=_INT_DTYPES[name])
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns, columns=list(ARTICLE_COLUMNS))


def articles_table(df: pd.DataFrame) -> pa.Table:
    """The articles frame as an Arrow table of ``ARTICLES_SCHEMA``: what the warehouse writes.

    Raises if a column is missing or a required field holds a null (both are bugs upstream).
    """
    return schema_table(df, ARTICLES_SCHEMA)


def schema_table(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A frame as an Arrow table of ``schema``, strictly: a missing column or a null in a required
    one raises. (``warehouse.quarantine.quarantine_table`` is the one that stamps and writes.)"""
    missing = [n for n in schema.names if n not in df.columns]
    if missing:
        raise KeyError(f"frame lacks column(s) {', '.join(missing)}")
    table = pa.Table.from_pandas(df[list(schema.names)], schema=schema, preserve_index=False)
    table = table.replace_schema_metadata(schema.metadata)
    for field in schema:
        if not field.nullable and table.column(field.name).null_count:
            raise ValueError(f"required column {field.name!r} has {table.column(field.name).null_count} null(s)")
    return table


def quarantine_frame(rows: list[dict[str, Any]], *, run_id: str, stage: str) -> pd.DataFrame:
    """Rejected rows of any stage as a ``QUARANTINE_SCHEMA`` frame.

    Each row may carry ``site``, ``url``, ``reason``, ``raw`` (dict or JSON text) and its time as
    ``quarantined_at``, ``at`` or ``fetched_at``. A row without a usable time gets the latest time
    of the batch (the epoch if none has one): pure code never asks the clock.
    """
    stamps = [
        parse_iso(r.get("quarantined_at")) or parse_iso(r.get("at")) or parse_iso(r.get("fetched_at"))
        for r in rows
    ]
    fallback = max((s for s in stamps if s is not None), default=EPOCH)
    data: dict[str, list[Any]] = {
        "run_id": [run_id] * len(rows),
        "site": [T.normalise_text(r.get("site")) for r in rows],
        "url": [T.normalise_text(r.get("url")) for r in rows],
        "reason": [T.normalise_text(r.get("reason")) or "unknown: no reason given" for r in rows],
        "stage": [stage] * len(rows),
        "raw": [_raw_json(r.get("raw")) for r in rows],
        "quarantined_at": [s or fallback for s in stamps],
    }
    columns = {
        name: pd.Series(values, dtype="datetime64[us, UTC]" if name == "quarantined_at" else object)
        for name, values in data.items()
    }
    return pd.DataFrame(columns, columns=list(QUARANTINE_COLUMNS))


# --- helpers ------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A raw value as plain JSON-able Python: numpy arrays → lists, NaN/NaT → None, times → ISO."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _plain_record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in record.items()}


def _raw_json(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    return json.dumps(_plain(raw), ensure_ascii=False, sort_keys=True, allow_nan=False)


def _short(text: str) -> str:
    text = T.normalise_text(text) or ""
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "\u2026"


def _q(value: object) -> str:
    """A raw value quoted for a reason text, cut short so a hostile value cannot bloat the quarantine."""
    if value is None:
        return "None"
    text = value if isinstance(value, str) else repr(value)
    return repr(_short(text)) if text.strip() else repr(text[:_DETAIL_MAX])
