"""The run's load step quarantines a cross-day id collision found by the merge and the run summary counts
it (``articles_quarantined``, ``quarantine_reasons["id_collision"]``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from newsline.pipeline import CLEAN_FILE, QUARANTINE_FILE, RunSpec, load, summarize
from tests.warehouse.conftest import article, table_of
from warehouse.paths import join
from warehouse.staging import write_frame

DAY1, DAY2 = date(2024, 9, 6), date(2024, 9, 7)


def _run(tmp_path, day: date, rows: list[dict], run_id: str) -> tuple[dict, RunSpec]:
    spec = RunSpec(site="japannews", day=day.isoformat(), run_id=run_id,
                   overrides={"warehouse": str(tmp_path / "wh"), "staging": str(tmp_path / "runs")})
    from newsline.pipeline import _run_loc

    loc = _run_loc(spec)
    write_frame(join(loc, CLEAN_FILE), table_of(rows), kind="articles")
    write_frame(join(loc, QUARANTINE_FILE), pd.DataFrame(), kind="quarantine")
    return load(spec), spec


def test_a_cross_day_collision_is_quarantined_and_counted_in_the_summary(tmp_path) -> None:
    _run(tmp_path, DAY1, [article(900001, day=DAY1)], "day-1")
    impostor = article(900001, day=DAY2, url="https://news.example/politics/sub/20240907-991001/",
                       title="A different story", body="Another page altogether.",
                       modified_delta=timedelta(hours=30), fetched_at=datetime(2024, 9, 8, tzinfo=UTC))
    stats, spec = _run(tmp_path, DAY2, [impostor, article(900002, day=DAY2)], "day-2")
    assert stats["id_collisions"] == 1 and stats["new"] == 1 and stats["updated"] == 0, stats

    quarantine = pd.read_parquet(stats["quarantine_path"])
    assert quarantine["url"].tolist() == [impostor["url"]]
    assert quarantine["reason"].iloc[0].startswith("id_collision: japannews:900001 is owned by")
    assert quarantine["stage"].iloc[0] == "load" and quarantine["run_id"].iloc[0] == "day-2"

    coverage = {f: 1.0 for f in ("title", "body", "published_at", "section", "url")}
    summary = summarize(spec, {"articles_discovered": 2, "pages_fetched": 2},
                        {"articles_clean": 2, "articles_quarantined": 0, "field_coverage": coverage,
                         "quarantine_reasons": {}}, stats)
    assert summary["articles_quarantined"] == 1, summary
    assert summary["quarantine_reasons"] == {"id_collision": 1}, summary
