"""The servers the cluster tests start for themselves: real PostgreSQL and Redis on loopback ports."""

from __future__ import annotations

import socket

import pytest

from newsline.cluster import PostgresServer, RedisServer, ServiceUnavailable

pytestmark = pytest.mark.cluster


def _open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_postgres_serves_sql(postgres):
    url = postgres.create_database("probe")
    assert url == f"postgresql+psycopg2://newsline@127.0.0.1:{postgres.port}/probe"
    assert postgres.execute("probe", "create table t (n int)") == -1
    assert postgres.execute("probe", "insert into t values (2), (3)") == 2
    assert postgres.query("probe", "select current_database() as db, sum(n) as s from t") == [{"db": "probe", "s": 5}]


def test_redis_serves_without_persistence(redis_server):
    import redis

    client = redis.Redis(host="127.0.0.1", port=redis_server.port)
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert client.config_get("save") == {"save": ""}
    assert client.config_get("appendonly") == {"appendonly": "no"}


def test_the_servers_stop_and_leave_nothing_behind():
    try:
        servers = [PostgresServer(), RedisServer()]
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    for server in servers:
        server.start()
        assert _open(server.port)
        server.stop()
        assert not _open(server.port)
    assert not servers[0].data.exists() and not servers[1].dir.exists()


def test_cluster_demo_bad_days_is_a_one_line_user_error(capsys):
    from newsline.cluster import main

    assert main(["--days", "2024-09-08..2024-09-04"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("newsline: error: ") and err.count("\n") == 1, err


def test_cluster_demo_plans_every_demo_sites_days():
    from core.sites import get_site
    from demo_site.world import DEMO_SITES
    from newsline.cluster import cluster_demo_plan

    plan = cluster_demo_plan()
    assert {(p["site"], p["dag_id"], p["day"]) for p in plan} == {
        (key, get_site(key).dag, day.isoformat()) for key, entry in DEMO_SITES.items() for day in entry.days}
    narrowed = cluster_demo_plan("2024-09-04..2024-09-05", "japannews,metrotimes")
    assert [(p["site"], p["day"]) for p in narrowed] == [("japannews", "2024-09-04"), ("japannews", "2024-09-05")]


def test_cluster_demo_days_of_no_demo_site_is_a_one_line_user_error(capsys):
    from newsline.cluster import main

    assert main(["--days", "2030-01-01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("newsline: error: nothing to run") and err.count("\n") == 1, err
