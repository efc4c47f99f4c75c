"""Shared fixtures: one demo server per module at the default (all days closed) clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo_site import DemoServer, DemoSite


@pytest.fixture(scope="session")
def site() -> DemoSite:
    return DemoSite()


@pytest.fixture(scope="module")
def server(site: DemoSite) -> Iterator[DemoServer]:
    with DemoServer(site) as srv:
        yield srv
