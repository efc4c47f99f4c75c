"""The analyst example script runs as a user would run it, and its four readers agree; every reading
snippet the README and ``make demo`` print runs and gives a typed ``date``."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analyst.conftest import DAY, PREVIOUS

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "read_warehouse.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-W", "error::DeprecationWarning", str(SCRIPT), *args],
                          capture_output=True, text=True, timeout=120, cwd=SCRIPT.parent)


def counts(stdout: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^(newsline|pandas|polars|duckdb): (\d+) rows$", stdout, re.M)}


def test_example_filters_by_date_and_section(warehouse):
    proc = run(str(warehouse.root), "--date", DAY.isoformat(), "--section", "politics")
    assert proc.returncode == 0, proc.stderr
    expected = len(warehouse.rows(DAY, "politics"))
    assert counts(proc.stdout) == {"newsline": expected, "pandas": expected, "polars": expected, "duckdb": expected}
    assert "files: 6 in the dataset, 1 left after partition pruning" in proc.stdout
    for row in warehouse.rows(DAY, "politics"):
        assert row["article_id"] in proc.stdout


def test_example_defaults_to_the_latest_day(warehouse):
    proc = run(str(warehouse.root))
    assert proc.returncode == 0, proc.stderr
    n = len(warehouse.rows(DAY))
    assert f"filter: date={DAY.isoformat()}\n" in proc.stdout
    assert counts(proc.stdout) == {"newsline": n, "pandas": n, "polars": n, "duckdb": n}
    proc = run(str(warehouse.root), "--date", PREVIOUS.isoformat(), "--section", "society")
    assert counts(proc.stdout) == dict.fromkeys(("newsline", "pandas", "polars", "duckdb"), 1)


def test_example_on_an_empty_warehouse(tmp_path):
    proc = run(str(tmp_path))
    assert proc.returncode == 1 and "no articles" in proc.stdout


# --- every snippet the README and ``make demo`` print ----------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _readme_block(heading: str, lang: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    start = section.index(f"```{lang}\n") + len(f"```{lang}\n")
    return section[start:section.index("```", start)]


def test_readme_python_snippets_give_typed_dates(warehouse):
    code = _readme_block("### Reading the warehouse", "python")
    steps = [s for s in re.split(r"\n(?=# \d\. )", code) if s.strip()]
    assert len(steps) == 5
    scope: dict = {"ROOT": str(warehouse.root)}
    for step in steps:
        exec(compile(step, "README.md", "exec"), scope)  # noqa: S102 - the documented snippet itself
        if "newsline.read_articles" in step:
            df = scope["df"]
            assert str(df["date"].dtype) == "date32[day][pyarrow]"
            assert sorted(df["article_id"]) == sorted(
                r["article_id"] for d in (DAY, PREVIOUS) for r in warehouse.rows(d, "politics"))
            assert (df["date"] == DAY).sum() == len(warehouse.rows(DAY, "politics"))
        elif "pd.read_parquet" in step:
            df = scope["df"]
            assert len(df) == len(warehouse.rows(DAY, "politics")) and set(df["date"]) == {DAY}
        elif "pl.scan_parquet" in step:
            assert scope["df"].height == len(warehouse.rows(DAY, "politics"))
            assert str(scope["df"].schema["date"]) == "Date"


@pytest.mark.slow  # five CLI subprocesses
def test_readme_shell_snippets_run(warehouse, tmp_path):
    block = _readme_block("From the shell:", "")
    lines = [line for line in block.splitlines() if line.startswith("newsline query")]
    assert len(lines) == 5
    for line in lines:
        argv = shlex.split(line.replace("ROOT", str(warehouse.root)), comments=True)
        proc = subprocess.run([sys.executable, "-m", "newsline.cli", *argv[1:], "--warehouse", str(warehouse.root)],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 0, (line, proc.stderr)
    assert (Path(warehouse.root) / "_duckdb" / "newsline.duckdb").exists()
    assert (tmp_path / "day.csv").read_text().count("japannews:") == len(warehouse.rows(DAY))


def _demo_command(line: str) -> list[str]:
    argv = shlex.split(line.strip(), comments=True)
    if argv[0] == ".venv/bin/python":
        return [sys.executable, *argv[1:]]
    assert argv[0] == ".venv/bin/newsline"
    return [sys.executable, "-m", "newsline.cli", *argv[1:]]


@pytest.mark.slow  # seven Python subprocesses
def test_every_read_it_line_make_demo_prints_runs_and_gives_typed_dates(warehouse, tmp_path):
    from newsline.demo import read_it_lines

    root = str(warehouse.root)
    commands = [_demo_command(line) for line in read_it_lines(root)[1:]]
    assert len(commands) == 5
    for cmd in commands:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)
        assert proc.returncode == 0, (cmd, proc.stderr)
        assert DAY.isoformat() in proc.stdout or "newsline.duckdb" in proc.stdout, proc.stdout
        if cmd[1] == "-c" and "df =" in cmd[2]:  # the pandas one-liners: is the date a date?
            probe = cmd[2] + "; import datetime; print('DATE-TYPED', isinstance(df['date'].iloc[0], datetime.date))"
            check = subprocess.run([cmd[0], "-c", probe], capture_output=True, text=True, timeout=120, cwd=REPO)
            assert "DATE-TYPED True" in check.stdout, check.stderr
        if cmd[1] == "-c" and "duckdb.sql" in cmd[2]:
            types = proc.stdout.splitlines()[2]  # the box's second header row: the column types
            assert re.match(r"│\s+date\s+│\s+varchar\s+│", types), proc.stdout
    assert (Path(root) / "_duckdb" / "newsline.duckdb").exists()


def test_the_untyped_read_the_readme_warns_about_is_untyped(warehouse):
    """The premise of the section: without the partitioning schema pandas gives strings."""
    import pandas as pd

    df = pd.read_parquet(f"{warehouse.root}/articles")
    assert (df["date"] == DAY).sum() == 0 and str(df["date"].dtype) == "category"
