"""The whole pipeline through real Airflow (`airflow dags test`) against the demo site: for every
demo day the warehouse holds exactly what the site published, field by field; a second run changes
nothing; a revision published on a later day replaces the older version in its original partition."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from newsline.demo import logical_date_for
from tests.e2e.airflow_services import airflow, make_env
from tests.truth import CORE_FIELDS, requires_seed, rows_by_id

pytestmark = pytest.mark.slow

DEMO_DAYS = [date(2024, 9, 4) + timedelta(days=i) for i in range(5)]
JST = timezone(timedelta(hours=9))


def _rows(frame: pd.DataFrame) -> dict[str, dict]:
    return rows_by_id(frame.to_dict("records"))


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "articles").rglob("*.parquet"))}


@contextmanager
def demo_world(tmp: Path, as_of: datetime | None = None):
    """A demo site and an Airflow home of its own (SQLite metadata), torn down afterwards."""
    from demo_site.server import DemoServer

    server = DemoServer(port=0, as_of=as_of)
    server.start()
    try:
        env = make_env(tmp / "airflow", base_url=server.base_url, warehouse=tmp / "warehouse", staging=tmp / "runs")
        airflow(env, "db", "migrate")
        airflow(env, "pools", "set", "japannews", "1", "crawl slots for The Japan News")
        yield {"server": server, "env": env, "tmp": tmp}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with demo_world(tmp_path_factory.mktemp("e2e-airflow")) as w:
        yield w


def dags_test(world, day: date) -> None:
    proc = airflow(world["env"], "dags", "test", "japannews_daily", logical_date_for(day), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "failed" not in _summaries(world, day)[-1]["status"], out[-4000:]


def _summaries(world, day: date) -> list[dict]:
    folder = world["tmp"] / "runs" / "japannews" / day.isoformat()
    files = sorted(folder.glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return [json.loads(p.read_text()) for p in files]


def _stored(world) -> pd.DataFrame:
    from warehouse.reader import read_articles

    return read_articles(str(world["tmp"] / "warehouse"))


def test_each_demo_day_lands_exactly_what_the_site_published(world) -> None:
    server = world["server"]
    for day in DEMO_DAYS:
        dags_test(world, day)
    stored = _stored(world)
    truth = pd.DataFrame(server.truth())
    for day in DEMO_DAYS:
        got = _rows(stored[stored["date"] == day])
        want = _rows(truth[truth["date"] == day])
        assert sorted(got) == sorted(want), f"{day}: article ids differ"
        for aid, row in want.items():
            for name in CORE_FIELDS:
                assert got[aid][name] == row[name], f"{day} {aid} {name}: {got[aid][name]!r} != {row[name]!r}"
        assert len(got) >= 10
    assert stored["article_id"].is_unique
    summary = _summaries(world, DEMO_DAYS[0])[-1]
    assert summary["articles_new"] > 0 and summary["pages_failed"] == 0


@requires_seed
def test_the_seed_article_as_crawled(world) -> None:
    stored = _stored(world)
    rows = stored[stored["article_id"] == "japannews:209301"]
    assert len(rows) == 1, "the seed article is missing from the warehouse"
    row = rows.iloc[0]
    assert row["title"] == ("Japan PM Kishida, S. Korea’s Yoon Agree to Cooperate on Protecting Citizens Abroad; "
                            "Aims to Shore Up Japan, S. Korea Ties")
    assert row["revision"] == 1
    assert row["section"] == "politics"
    assert row["date"] == date(2024, 9, 6)
    assert pd.Timestamp(row["published_at"]) == pd.Timestamp("2024-09-06 09:19", tz="UTC")
    assert pd.Timestamp(row["modified_at"]) == pd.Timestamp("2024-09-06 11:30", tz="UTC")
    assert row["dateline"] == "SEOUL"
    assert row["body"].startswith("Prime Minister Fumio Kishida met")
    assert row["body"].endswith("this being their 12th face-to-face meeting.")
    for junk in ("POPULAR ARTICLE", "JN ACCESS RANKING", "Streaming Services Boost Anime"):
        assert junk not in row["body"]


def test_a_second_run_changes_nothing(world) -> None:
    before_files = _tree_digest(world["tmp"] / "warehouse")
    before = _stored(world).sort_values("article_id").reset_index(drop=True)
    dags_test(world, DEMO_DAYS[2])
    after = _stored(world).sort_values("article_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
    assert _tree_digest(world["tmp"] / "warehouse") == before_files
    summary = _summaries(world, DEMO_DAYS[2])[-1]
    assert summary["articles_new"] == 0 and summary["articles_updated"] == 0


@pytest.fixture(scope="module")
def early_world(tmp_path_factory):
    """A demo site whose clock stands just after 2024-09-05 closed: later revisions don't exist yet."""
    with demo_world(tmp_path_factory.mktemp("e2e-revisions"), as_of=datetime(2024, 9, 6, 6, 0, tzinfo=JST)) as w:
        yield w


def test_a_later_revision_replaces_the_older_version_in_its_original_partition(early_world) -> None:
    server = early_world["server"]
    early = {r["article_id"]: r for r in server.truth()}
    late_as_of = datetime(2024, 9, 9, 6, 0, tzinfo=JST)
    late = {r["article_id"]: r for r in server.truth(late_as_of)}
    # articles published on 09-05 whose next revision came out on a later day
    revised_later = [aid for aid, r in late.items()
                     if r["date"] == date(2024, 9, 5) and aid in early and r["revision"] > early[aid]["revision"]
                     and pd.Timestamp(r["modified_at"]).tz_convert("Asia/Tokyo").date() > date(2024, 9, 5)]
    assert revised_later, "the demo site must revise some 09-05 article on a later day"
    aid = revised_later[0]
    revision_day = pd.Timestamp(late[aid]["modified_at"]).tz_convert("Asia/Tokyo").date()

    dags_test(early_world, date(2024, 9, 5))
    stored = _stored(early_world).set_index("article_id")
    assert stored.loc[aid, "revision"] == early[aid]["revision"]
    assert stored.loc[aid, "title"] == early[aid]["title"]

    server.set_as_of(late_as_of)
    dags_test(early_world, revision_day)
    stored = _stored(early_world)
    row = stored[stored["article_id"] == aid]
    assert len(row) == 1, "the article must exist exactly once"
    row = row.iloc[0]
    assert row["date"] == date(2024, 9, 5), "a revision stays in the partition of its publication date"
    assert row["revision"] == late[aid]["revision"]
    assert row["body"] == late[aid]["body"]
    assert pd.Timestamp(row["modified_at"]) == pd.Timestamp(late[aid]["modified_at"])
    summary = _summaries(early_world, revision_day)[-1]
    assert summary["articles_updated"] >= 1
    from warehouse.reader import read_revisions

    versions = read_revisions(str(early_world["tmp"] / "warehouse"))
    assert set(versions[versions["article_id"] == aid]["revision"]) >= {early[aid]["revision"], late[aid]["revision"]}
