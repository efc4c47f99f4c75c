"""`newsline extract PAGE.html --url URL`: one saved page printed as an articles-table record."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CASE = Path(__file__).resolve().parents[1] / "crawler" / "fixtures" / "article_full"


def test_extract_prints_the_record_as_json() -> None:
    expected = json.loads((CASE / "expected.json").read_text(encoding="utf-8"))
    proc = subprocess.run([sys.executable, "-m", "newsline.cli", "extract", str(CASE / "page.html"),
                           "--url", expected["fetched_url"]], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout)
    assert record["quarantine_reason"] is None
    assert record["article_id"] == f"japannews:{expected['item']['native_id']}"
    assert record["title"] == expected["item"]["title"]
    assert record["published_at"].endswith("+00:00")
    # columns the warehouse fills are null, not the string "NaT"
    assert record["first_seen_at"] is None and record["near_duplicate_of"] is None


SITES = Path(__file__).resolve().parents[2] / "sites" / "fixtures"
PAGE = """<html lang="fr"><head><title>Le conseil adopte le budget - La Gazette du Port</title>
<meta property="og:title" content="Le conseil adopte le budget">
<meta property="article:published_time" content="2024-05-02T09:30:00+02:00"></head>
<body><nav><a href="/">Accueil</a> <a href="/sport/">Sport</a></nav><article><h1>Le conseil adopte le budget</h1>
<p class="byline">Par Jeanne Exemple</p>
<p>Le conseil municipal a adopté mardi soir un budget de douze millions d'euros pour le port.</p>
<p>Les travaux commenceront en septembre et dureront deux ans, selon la mairie.</p>
<p>Les commerçants du quai attendent surtout la réouverture du marché couvert.</p></article>
<aside class="related"><h3>À lire aussi</h3><a href="/x">Autre article</a></aside></body></html>"""


def _extract(*argv: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "newsline.cli", "extract", *argv], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_extract_picks_the_profile_by_the_urls_domain() -> None:
    """A page of a registered site is read by its profile (found from the URL's domain)."""
    case = json.loads((SITES / "metrotimes" / "plain.json").read_text(encoding="utf-8"))
    url = case["url"].replace("http://127.0.0.1:18766/", "https://www.metrotimes.example/")
    record = _extract(str(SITES / "metrotimes" / "plain.html"), "--url", url, "--explain")
    assert record["site"] == "metrotimes" and record["title"] == case["expected"]["title"]
    assert record["body"] == case["expected"]["body"] and record["section"] == case["expected"]["section"]
    assert json.loads(record["extraction"])["title"] == "css[0]"
    assert record["explain"]["profile"].endswith("sites/metrotimes.yaml")


def test_extract_reads_any_page_with_the_generic_extractor_and_explains_it(tmp_path: Path) -> None:
    """Before: every non-Japan-News page was rejected with "no article block"."""
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    record = _extract(str(page), "--url", "https://www.gazette-du-port.example/2024/05/02/budget/", "--explain")
    assert record["quarantine_reason"] is None
    assert record["site"] == "gazette-du-port-example" and record["title"] == "Le conseil adopte le budget"
    assert record["body"].startswith("Le conseil municipal a adopté") and "À lire aussi" not in record["body"]
    assert record["published_at"] == "2024-05-02T07:30:00+00:00" and record["language"] == "fr"
    assert json.loads(record["extraction"])["body"].startswith("generic:")
    chain = record["explain"]["chain"]
    assert chain["title"] and chain["published_at"], chain


def test_extract_of_a_missing_file_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "newsline.cli", "extract", str(tmp_path / "missing.html"),
                           "--url", "https://x.example/a"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("newsline: error: cannot read")
    assert len(proc.stderr.strip().splitlines()) == 1
