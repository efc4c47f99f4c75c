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


def test_postgres_serves_sql_and_stops():
    try:
        server = PostgresServer()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        url = server.create_database("probe")
        assert url.endswith(f":{server.port}/probe")
        assert server.query("probe", "select current_database() as db, 2 + 3 as n") == [{"db": "probe", "n": 5}]
    finally:
        server.stop()
    assert not _open(server.port)
    assert not server.data.exists()


def test_redis_serves_and_stops_without_persistence():
    try:
        server = RedisServer()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    import redis

    server.start()
    try:
        client = redis.Redis(host="127.0.0.1", port=server.port)
        client.set("k", "v")
        assert client.get("k") == b"v"
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        server.stop()
    assert not _open(server.port)
