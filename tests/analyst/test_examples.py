"""The analyst example script runs as a user would run it, and its three readers agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.analyst.conftest import DAY, PREVIOUS

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "read_warehouse.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-W", "error::DeprecationWarning", str(SCRIPT), *args],
                          capture_output=True, text=True, timeout=120, cwd=SCRIPT.parent)


def counts(stdout: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^(pandas|polars|duckdb): (\d+) rows$", stdout, re.M)}


def test_example_filters_by_date_and_section(warehouse):
    proc = run(str(warehouse.root), "--date", DAY.isoformat(), "--section", "politics")
    assert proc.returncode == 0, proc.stderr
    expected = len(warehouse.rows(DAY, "politics"))
    assert counts(proc.stdout) == {"pandas": expected, "polars": expected, "duckdb": expected}
    assert "files: 6 in the dataset, 1 left after partition pruning" in proc.stdout
    for row in warehouse.rows(DAY, "politics"):
        assert row["article_id"] in proc.stdout


def test_example_defaults_to_the_latest_day(warehouse):
    proc = run(str(warehouse.root))
    assert proc.returncode == 0, proc.stderr
    n = len(warehouse.rows(DAY))
    assert f"filter: date={DAY.isoformat()}\n" in proc.stdout
    assert counts(proc.stdout) == {"pandas": n, "polars": n, "duckdb": n}
    proc = run(str(warehouse.root), "--date", PREVIOUS.isoformat(), "--section", "society")
    assert counts(proc.stdout) == dict.fromkeys(("pandas", "polars", "duckdb"), 1)


def test_example_on_an_empty_warehouse(tmp_path):
    proc = run(str(tmp_path))
    assert proc.returncode == 1 and "no articles" in proc.stdout
