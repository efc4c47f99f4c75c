"""Every non-Japan-News demo site through real Airflow: one DAG per profile, all site-days run by
``dag.test`` in one Airflow process (as ``make demo`` does). For every site and day the warehouse holds
exactly the site's ground truth, field by field; ``article_id`` is unique across sites; the DST days and
the days whose local midnight is not UTC midnight land in the right ``date``; a second run changes no
byte. (The Japan News has its own end-to-end test: tests/e2e/test_airflow_demo_days.py.)"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from core.sites import get_site
from newsline.demo import demo_plan, run_plan_in_airflow
from tests.e2e.airflow_services import airflow, make_env
from tests.truth import CORE_FIELDS, rows_by_id

pytestmark = pytest.mark.slow

SITES = ["metrotimes", "valleyherald", "rheinkurier"]
FIELDS = [*CORE_FIELDS, "section_native"]


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "articles").rglob("*.parquet"))}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from demo_site.world import DemoWorld

    tmp = tmp_path_factory.mktemp("e2e-world")
    with DemoWorld(sites=SITES) as demo:
        urls = {k: demo.servers[k].base_url for k in SITES}
        env = make_env(tmp / "airflow", base_url=urls, warehouse=tmp / "warehouse", staging=tmp / "runs")
        airflow(env, "db", "migrate")
        for key in SITES:
            airflow(env, "pools", "set", key, "1", f"crawl slots for {key}")
        plan = demo_plan(SITES)
        results = run_plan_in_airflow(plan, env, tmp / "runs.log")
        yield {"demo": demo, "env": env, "tmp": tmp, "plan": plan, "results": results}


def _stored(world) -> pd.DataFrame:
    from warehouse.reader import read_articles

    return read_articles(str(world["tmp"] / "warehouse"))


def test_every_site_day_succeeds_through_airflow(world) -> None:
    log = (world["tmp"] / "runs.log").read_text(errors="replace")
    assert len(world["results"]) == len(world["plan"]) == 15, log[-4000:]
    failed = [r for r in world["results"] if r["state"] != "success"]
    assert not failed, f"{failed}\n{log[-6000:]}"


@pytest.mark.parametrize("key", SITES)
def test_each_site_lands_exactly_its_ground_truth(world, key: str) -> None:
    stored = _stored(world)
    mine = stored[stored["site"] == key]
    truth = pd.DataFrame(world["demo"].truth(key))
    got, want = rows_by_id(mine.to_dict("records"), FIELDS), rows_by_id(truth.to_dict("records"), FIELDS)
    assert sorted(got) == sorted(want), f"{key}: article ids differ"
    wrong = [(aid, f, got[aid][f], row[f]) for aid, row in want.items() for f in FIELDS if got[aid][f] != row[f]]
    assert not wrong, f"{key}: {len(wrong)} field(s) differ, e.g. {wrong[:5]}"
    for day in sorted(set(truth["date"])):
        assert sorted(mine[mine["date"] == day]["article_id"]) == sorted(truth[truth["date"] == day]["article_id"])


def test_article_ids_are_unique_across_sites(world) -> None:
    stored = _stored(world)
    assert stored["article_id"].is_unique
    assert set(stored["site"]) == set(SITES)
    assert all(aid.startswith(f"{site}:") for aid, site in zip(stored["article_id"], stored["site"], strict=True))


def test_local_days_across_dst_and_utc_midnight(world) -> None:
    """Publication times near local midnight and on the DST days land in the site's local day."""
    stored = _stored(world)
    checked = 0
    for key in SITES:
        tz = get_site(key).timezone
        rows = stored[stored["site"] == key]
        local = pd.to_datetime(rows["published_at"], utc=True).dt.tz_convert(tz).dt.date
        utc = pd.to_datetime(rows["published_at"], utc=True).dt.date
        assert (local == rows["date"]).all(), f"{key}: a row's date is not its local publication day"
        checked += int((utc != rows["date"]).sum())
    assert checked >= 10, "the demo world must publish articles whose UTC day differs from the local day"
    ny = stored[(stored["site"] == "metrotimes") & (stored["date"] == date(2024, 11, 3))]
    offsets = {pd.Timestamp(t).tz_convert("America/New_York").utcoffset() for t in ny["published_at"]}
    assert len(offsets) == 2, "2024-11-03 in New York has both EDT and EST publication times"


def test_a_second_run_changes_no_byte(world) -> None:
    before = _digest(world["tmp"] / "warehouse")
    plan = [p for p in world["plan"] if p["day"] in ("2024-11-03", "2024-03-31", "2024-03-03")]
    results = run_plan_in_airflow(plan, world["env"], world["tmp"] / "rerun.log")
    assert [r["state"] for r in results] == ["success"] * len(plan)
    assert _digest(world["tmp"] / "warehouse") == before
