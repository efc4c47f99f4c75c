"""core.coverage: one definition of "a stored value is present", in Python and in SQL, that agree."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd

from core.coverage import COVERAGE_COLUMNS, COVERAGE_FLOORS, coverage_sql, is_present


def test_is_present() -> None:
    assert [is_present(v) for v in ("x", " ", "", None, math.nan, pd.NaT, [], ["a"], np.array([]), 0, 1.5)] == [
        True, False, False, False, False, False, False, True, False, True, True]


def test_floors_are_measured_columns() -> None:
    assert set(COVERAGE_FLOORS) <= set(COVERAGE_COLUMNS)


def test_sql_and_python_agree() -> None:
    con = duckdb.connect()
    con.execute("create table articles (title varchar, keywords varchar[], published_at timestamptz)")
    rows = [("a", ["k"], "2024-09-06 01:00:00+00"), (" ", [], None), (None, None, "2024-09-06 02:00:00+00"),
            ("b", ["k", "l"], None)]
    con.executemany("insert into articles values (?, ?, ?)", rows)
    columns = ("title", "keywords", "published_at")
    got = con.execute(f"select {coverage_sql(columns)} from articles").fetchone()
    expected = [sum(is_present(r[i]) for r in rows) / len(rows) for i in range(3)]
    assert list(got) == expected == [0.5, 0.5, 0.5]
