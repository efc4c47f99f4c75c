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
