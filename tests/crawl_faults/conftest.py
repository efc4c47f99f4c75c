"""Fixtures: the demo site over real HTTP, fast retries and a short download timeout."""

from __future__ import annotations

import json

import pytest
from faultkit import FAST


@pytest.fixture(autouse=True)
def fast_crawler(monkeypatch):
    monkeypatch.setenv("NEWSLINE_SCRAPY_SETTINGS", json.dumps(FAST))


@pytest.fixture
def demo():
    from demo_site.server import DemoServer

    server = DemoServer(port=0).start()
    yield server
    server.stop()
