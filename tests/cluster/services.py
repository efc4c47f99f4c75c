"""Pytest fixtures for the cluster tests: their own PostgreSQL, Redis and S3 API servers on loopback
ports, started for the test module and stopped at its end. Without the server binaries (Debian's
``postgresql`` and ``redis-server``, which ``.ci/run`` installs) the tests that need them skip, saying why."""

from __future__ import annotations

import pytest

from newsline.cluster import PostgresServer, RedisServer, S3Server, ServiceUnavailable


def _start_or_skip(make):
    try:
        server = make()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    return server


@pytest.fixture(scope="module")
def postgres():
    server = _start_or_skip(PostgresServer)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_server():
    server = _start_or_skip(RedisServer)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    server = S3Server()
    server.start(tmp_path_factory.mktemp("s3") / "s3.log")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in server.env.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        yield server
    server.stop()
