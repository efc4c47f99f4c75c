"""``python -m bench.eval`` (``make eval``): Newsline's generic extractor against trafilatura on the
readability development set, in one run, scored as that folder's README says.

Pages: ``$NEWSLINE_EVAL_PAGES``, else ``../shared/datasets/readability-test-pages/pages`` relative to
the repository root. Each case folder holds ``source.html``, ``expected.html`` and
``expected-metadata.json``.

Scoring (the README's rules):
- body: text of ``expected.html`` (tags stripped, block elements as line breaks) against the extracted
  body, as multisets of lower-cased Unicode ``\\w+`` tokens; precision = common / extracted, recall =
  common / expected, F1 per page; mean and median over pages, a page with no output scores 0;
- title: exact after whitespace normalisation;
- byline: the set of person names (split on commas, "and", "&", ";", "|"; a leading "By" dropped;
  case-folded), scored on pages whose expected byline is set;
- published date: to the day, on pages whose expected ``publishedTime`` is set. A candidate day counts
  when it equals the expected day as written or, for an expected time with an offset, its UTC day
  (trafilatura gives a bare day, Newsline a UTC time: both get the same two chances);
- language: primary subtag, on pages whose expected ``lang`` is set;
- speed: pages per second of each side, alternated page by page in this process (who goes first
  alternates too), after one untimed warm-up call each.

Odd pages (``readerable: false``, or a missing expected file) are scored but reported apart, and are
left out of the headline means. The contenders: ``newsline`` = ``crawler.parsers.generic.extract_article``;
``trafilatura`` = ``trafilatura.extract`` for the body plus ``trafilatura.extract_metadata`` for the
metadata (both timed together, as the generic extractor gives both).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PAGES = "../shared/datasets/readability-test-pages/pages"
DEFAULT_OUT = REPO / "data" / "eval" / "eval.json"
_WORD = re.compile(r"\w+", re.UNICODE)
_BLOCKS = frozenset({"p", "div", "section", "article", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                     "blockquote", "pre", "table", "tr", "td", "th", "dl", "dt", "dd", "figure", "figcaption",
                     "header", "footer", "aside", "nav", "main", "br", "hr", "form", "address", "caption"})
_PEOPLE_SPLIT = re.compile(r"\s*(?:,|;|\||&|\band\b|\bund\b|\bet\b|\by\b|\s/\s)\s*", re.IGNORECASE)


class EvalError(Exception):
    """A user error: printed as one ``newsline: error:`` line, exit status 2."""


def pages_dir() -> Path:
    raw = os.environ.get("NEWSLINE_EVAL_PAGES") or DEFAULT_PAGES
    path = Path(raw)
    return path if path.is_absolute() else (REPO / path).resolve()


# --------------------------------------------------------------------------- scoring helpers

def tokens(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def prf(extracted: str, expected: str) -> tuple[float, float, float]:
    """Token-multiset precision, recall, F1 of ``extracted`` against ``expected``."""
    got, want = tokens(extracted), tokens(expected)
    if not got or not want:
        return (0.0, 0.0, 0.0) if (got or want) else (1.0, 1.0, 1.0)
    common = sum((got & want).values())
    p, r = common / sum(got.values()), common / sum(want.values())
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def html_text(fragment: str) -> str:
    """Text of an HTML fragment, tags stripped, block elements as line breaks, scripts skipped."""
    from lxml import html as lxml_html

    if not fragment.strip():
        return ""
    root = lxml_html.fromstring(fragment)
    parts: list[str] = []
    for event, el in _iterwalk(root):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in ("script", "style", "noscript", "template"):
                continue
            if tag in _BLOCKS:
                parts.append("\n")
            if el.text and not _inside_invisible(el):
                parts.append(el.text)
        else:
            if tag in _BLOCKS:
                parts.append("\n")
            if el.tail:
                parts.append(el.tail)
    return re.sub(r"[ \t\r\f\v]+", " ", re.sub(r"\s*\n\s*", "\n", "".join(parts))).strip()


def _inside_invisible(el) -> bool:  # type: ignore[no-untyped-def]
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    return tag in ("script", "style", "noscript", "template") or not isinstance(el.tag, str)


def _iterwalk(root):  # type: ignore[no-untyped-def]
    stack = [(root, False)]
    while stack:
        el, done = stack.pop()
        if done:
            yield "end", el
            continue
        yield "start", el
        stack.append((el, True))
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "noscript", "template") or not isinstance(el.tag, str):
            continue
        stack.extend((child, False) for child in reversed(list(el)))


def norm_ws(value: str | None) -> str:
    return " ".join((value or "").split())


def people(byline: str | list[str] | None) -> frozenset[str]:
    """A byline as a set of case-folded person names: split on lines, commas, "and", "&", ";", "|";
    a leading "By" / "Written by" / "Edited by" dropped; URLs dropped; parts holding digits (dates,
    times) are not names and are dropped."""
    if not byline:
        return frozenset()
    raw = "\n".join(byline) if isinstance(byline, list) else byline
    raw = re.sub(r"\(?\s*(?:https?://|www\.)\S*\)?", " ", raw)
    raw = re.sub(r"\b(by|von|par|por)\s*:?\s*\n\s*", r"\1 ", raw, flags=re.IGNORECASE)
    out = set()
    for line in raw.splitlines():
        for part in _PEOPLE_SPLIT.split(line):
            part = re.sub(r"^(?:(?:written|edited|posted)\s+)?(?:by|von|par|por)\s*:?\s+", "", norm_ws(part),
                          flags=re.IGNORECASE).strip(" .:-")
            if part and not re.search(r"\d", part):
                out.add(part.casefold())
    return frozenset(out)


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    v = value.replace("Z", "+00:00").replace(" ", "T", 1)
    v = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", v)
    v = re.sub(r"\.(\d{1,6})\d*", r".\1", v)
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        try:
            return datetime.fromisoformat(v[:10])
        except ValueError:
            return None


def expected_days(expected: str) -> set[str]:
    """The days a candidate may match: the day as written, and the UTC day when an offset is given."""
    dt = _parse_time(expected)
    if dt is None:
        return {expected[:10]}
    days = {dt.date().isoformat()}
    if dt.tzinfo is not None:
        days.add(dt.astimezone(UTC).date().isoformat())
    return days


def candidate_day(value: str | None) -> str | None:
    if not value:
        return None
    dt = _parse_time(value)
    if dt is None:
        return value[:10]
    return (dt.astimezone(UTC) if dt.tzinfo else dt).date().isoformat()


def lang_primary(value: str | None) -> str | None:
    if not value:
        return None
    return re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0] or None


# --------------------------------------------------------------------------- cases and contenders

@dataclass
class Case:
    name: str
    source: bytes
    expected_text: str
    meta: dict
    odd: str | None  # why the case is reported apart, or None


@dataclass
class Output:
    body: str = ""
    title: str | None = None
    byline: list[str] | str | None = None
    published: str | None = None
    language: str | None = None
    seconds: float = 0.0
    error: str | None = None
    extra: dict = field(default_factory=dict)


def load_cases(root: Path) -> list[Case]:
    if not root.is_dir():
        raise EvalError(f"evaluation pages not found at {root} (set NEWSLINE_EVAL_PAGES to the folder of "
                        "readability-test-pages/pages)")
    cases = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        src = folder / "source.html"
        if not src.is_file():
            continue
        odd = None
        exp_html = folder / "expected.html"
        exp_meta = folder / "expected-metadata.json"
        expected_text = html_text(exp_html.read_text(encoding="utf-8")) if exp_html.is_file() else ""
        meta = json.loads(exp_meta.read_text(encoding="utf-8")) if exp_meta.is_file() else {}
        if not exp_html.is_file() or not exp_meta.is_file():
            odd = "missing expected file"
        elif meta.get("readerable") is False:
            odd = "readerable: false"
        cases.append(Case(folder.name, src.read_bytes(), expected_text, meta, odd))
    if not cases:
        raise EvalError(f"no cases (folders with source.html) under {root}")
    return cases


def case_url(case: Case) -> str:
    return f"http://example.test/{case.name}/"


def run_newsline(case: Case) -> Output:
    from crawler.parsers.base import PageRejected
    from crawler.parsers.generic import extract_article

    t0 = time.perf_counter()
    try:
        art = extract_article(case.source, case_url(case))
    except PageRejected as exc:
        return Output(seconds=time.perf_counter() - t0, error=f"rejected {exc.kind}: {exc.reason}")
    seconds = time.perf_counter() - t0
    return Output(body="\n".join(art.paragraphs), title=art.title, byline=art.authors or art.byline,
                  published=art.published_at, language=art.language, seconds=seconds,
                  extra={"body_method": art.provenance.get("body"), "confidence": art.extraction_confidence})


def run_trafilatura(case: Case) -> Output:
    import trafilatura

    text = case.source.decode("utf-8", errors="replace")
    t0 = time.perf_counter()
    body = trafilatura.extract(text, url=case_url(case)) or ""
    meta = trafilatura.extract_metadata(text, default_url=case_url(case))
    seconds = time.perf_counter() - t0
    if meta is None:
        return Output(body=body, seconds=seconds)
    author = meta.author
    byline = [a for a in author.split(";")] if author else None
    return Output(body=body, title=meta.title, byline=byline, published=meta.date,
                  language=getattr(meta, "language", None), seconds=seconds)


CONTENDERS: dict[str, Callable[[Case], Output]] = {"newsline": run_newsline, "trafilatura": run_trafilatura}


def score(case: Case, out: Output) -> dict:
    p, r, f = prf(out.body, case.expected_text) if out.body else (0.0, 0.0, 0.0)
    row: dict = {"precision": p, "recall": r, "f1": f, "seconds": out.seconds, "error": out.error, **out.extra}
    meta = case.meta
    if meta.get("title"):
        row["title_ok"] = norm_ws(out.title) == norm_ws(meta["title"])
        row["title"] = out.title
    if meta.get("byline") and people(meta["byline"]):
        row["byline_ok"] = people(out.byline) == people(meta["byline"])
        row["byline"] = sorted(people(out.byline))
    if meta.get("publishedTime"):
        row["date_ok"] = candidate_day(out.published) in expected_days(meta["publishedTime"])
        row["published"] = out.published
    if meta.get("lang"):
        row["lang_ok"] = lang_primary(out.language) == lang_primary(meta["lang"])
    return row


def evaluate(cases: list[Case], contenders: dict[str, Callable[[Case], Output]] | None = None) -> dict:
    """Run every contender on every case, alternated page by page; return the per-page rows and summary."""
    contenders = contenders or CONTENDERS
    rows: dict[str, dict[str, dict]] = {name: {} for name in contenders}
    for fn in contenders.values():  # warm-up: imports and first-call caches are not timed
        try:
            fn(cases[0])
        except Exception:
            pass
    order = list(contenders.items())
    for i, case in enumerate(cases):
        for name, fn in (order if i % 2 == 0 else order[::-1]):  # alternate who goes first
            try:
                out = fn(case)
            except Exception as exc:  # a crash is a zero row, and counted
                out = Output(error=f"crash {type(exc).__name__}: {exc}"[:200])
            rows[name][case.name] = score(case, out)
    groups = {"main": [c.name for c in cases if not c.odd], "odd": [c.name for c in cases if c.odd]}
    summary = {name: {g: summarise([rows[name][n] for n in names]) for g, names in groups.items()}
               for name in contenders}
    return {"cases": {c.name: {"odd": c.odd} for c in cases}, "rows": rows, "summary": summary, "groups": groups}


def summarise(rows: list[dict]) -> dict:
    if not rows:
        return {"pages": 0}
    f1 = [r["f1"] for r in rows]
    secs = sum(r["seconds"] for r in rows)
    out = {
        "pages": len(rows),
        "f1_mean": statistics.fmean(f1), "f1_median": statistics.median(f1),
        "precision_mean": statistics.fmean(r["precision"] for r in rows),
        "recall_mean": statistics.fmean(r["recall"] for r in rows),
        "pages_per_s": len(rows) / secs if secs else 0.0,
        "errors": sum(1 for r in rows if r.get("error")),
    }
    for key in ("title_ok", "byline_ok", "date_ok", "lang_ok"):
        scored = [r[key] for r in rows if key in r]
        out[key] = sum(scored)
        out[key.replace("_ok", "_scored")] = len(scored)
    return out


def wins_losses(result: dict, a: str = "newsline", b: str = "trafilatura", margin: float = 0.02) -> dict:
    """Per-page body F1 comparison: pages where ``a`` beats ``b`` by more than ``margin`` and the reverse."""
    wins, losses = [], []
    for name, row in result["rows"][a].items():
        fa, fb = row["f1"], result["rows"][b][name]["f1"]
        if fa > fb + margin:
            wins.append((name, round(fa, 3), round(fb, 3)))
        elif fb > fa + margin:
            losses.append((name, round(fa, 3), round(fb, 3)))
    return {"wins": wins, "losses": losses}


def table(result: dict) -> str:
    names = list(result["summary"])
    lines = []
    for group in ("main", "odd"):
        lines.append(f"\n{'development pages' if group == 'main' else 'odd pages (reported apart)'}: "
                     f"{len(result['groups'][group])}")
        lines.append("| contender | body F1 mean | F1 median | P mean | R mean | title | authors | published day "
                     "| language | pages/s | errors |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for name in names:
            s = result["summary"][name][group]
            if not s.get("pages"):
                continue
            lines.append(
                f"| {name} | {s['f1_mean']:.4f} | {s['f1_median']:.4f} | {s['precision_mean']:.4f} | "
                f"{s['recall_mean']:.4f} | {s['title_ok']}/{s['title_scored']} | {s['byline_ok']}/{s['byline_scored']} "
                f"| {s['date_ok']}/{s['date_scored']} | {s['lang_ok']}/{s['lang_scored']} | {s['pages_per_s']:.1f} "
                f"| {s['errors']} |")
    wl = result["wins_losses"]
    lines.append(f"\nbody F1 per page vs trafilatura (margin 0.02): {len(wl['wins'])} wins, {len(wl['losses'])} losses")
    lines.append("  wins:   " + ", ".join(f"{n} {a:.2f}>{b:.2f}" for n, a, b in wl["wins"]))
    lines.append("  losses: " + ", ".join(f"{n} {a:.2f}<{b:.2f}" for n, a, b in wl["losses"]))
    return "\n".join(lines).lstrip("\n")


def run(root: Path | None = None, limit: int | None = None) -> dict:
    cases = load_cases(root or pages_dir())
    if limit:
        cases = cases[:limit]
    result = evaluate(cases)
    result["wins_losses"] = wins_losses(result)
    result["run_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def bench_rows(quick: bool = False) -> list:
    """The same comparison as rows of ``make bench``: body F1 ratio and time-per-page ratio."""
    from bench.common import BenchResult, check

    result = run(limit=40 if quick else None)
    ours, theirs = result["summary"]["newsline"]["main"], result["summary"]["trafilatura"]["main"]
    f1_ratio = ours["f1_mean"] / theirs["f1_mean"] if theirs["f1_mean"] else 0.0
    time_ratio = theirs["pages_per_s"] / ours["pages_per_s"] if ours["pages_per_s"] else float("inf")
    meta_ok = all(ours[k] > theirs[k] for k in ("title_ok", "byline_ok", "date_ok"))
    detail = (f"body F1 {ours['f1_mean']:.4f} vs {theirs['f1_mean']:.4f}; title {ours['title_ok']} vs "
              f"{theirs['title_ok']}, authors {ours['byline_ok']} vs {theirs['byline_ok']}, published "
              f"{ours['date_ok']} vs {theirs['date_ok']} of {ours['pages']} pages")
    return [
        BenchResult("Generic extraction quality vs trafilatura (body F1 ratio; metadata must win too)",
                    f1_ratio, "> 1.0", f1_ratio > 1.0 and meta_ok, detail),
        BenchResult("Generic extraction time per page vs trafilatura", time_ratio, "<= 2.0",
                    check(time_ratio, "<= 2.0"),
                    f"{ours['pages_per_s']:.1f} vs {theirs['pages_per_s']:.1f} pages/s"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write (default: data/eval/eval.json)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases (a smoke run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("trafilatura", "htmldate", "readability", "courlan"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        result = run(limit=args.limit)
    except EvalError as exc:
        print(f"newsline: error: {exc}", file=sys.stderr)
        return 2
    print(table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Case", "EvalError", "Output", "evaluate", "load_cases", "main", "people", "prf", "run"]
