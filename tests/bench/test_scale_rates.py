"""How the politeness benchmark reads a request log (pure arithmetic, no servers)."""

from __future__ import annotations

import pytest

from bench.scale import common_window_rate, host_rate


def test_a_host_requested_every_delay_is_at_the_allowed_rate() -> None:
    h = host_rate("a", 0.5, [10.0, 11.0, 10.5, 11.5, 12.0])  # any order
    assert (h.requests, h.first, h.last, h.span) == (5, 10.0, 12.0, 2.0)
    assert h.rate == pytest.approx(2.0) and h.allowed == pytest.approx(2.0)
    assert h.max_gap == pytest.approx(0.5)


def test_one_long_wait_lowers_the_rate_and_shows_as_the_longest_gap() -> None:
    h = host_rate("a", 0.25, [0.0, 0.25, 0.5, 2.5, 2.75])
    assert h.rate == pytest.approx(4 / 2.75) and h.allowed == pytest.approx(4.0)
    assert h.max_gap == pytest.approx(2.0)


def test_a_host_with_one_request_or_none_has_no_rate() -> None:
    assert host_rate("a", 0.5, [3.0]).rate == 0.0
    assert host_rate("a", 0.5, []).requests == 0


def test_the_total_counts_only_the_window_where_every_host_was_crawled() -> None:
    arrivals = {
        "a": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0],  # 2 req/s from 0 to 3
        "b": [1.0, 1.25, 1.5, 1.75, 2.0, 5.0],  # 4 req/s from 1 to 2, then a straggler at 5
    }
    hosts = [host_rate(k, 0.5 if k == "a" else 0.25, v) for k, v in arrivals.items()]
    total, window = common_window_rate(hosts, arrivals)
    assert window == pytest.approx(2.0)  # from b's first (1.0) to a's last (3.0)
    # inside [1, 3]: a has 5 requests (4 gaps), b has 5 (4 gaps): 8 gaps in 2 s
    assert total == pytest.approx(4.0)


def test_hosts_that_never_overlap_have_no_common_rate() -> None:
    arrivals = {"a": [0.0, 1.0], "b": [2.0, 3.0]}
    hosts = [host_rate(k, 1.0, v) for k, v in arrivals.items()]
    assert common_window_rate(hosts, arrivals) == (0.0, 0.0)


def test_the_shortest_gap_is_kept() -> None:
    assert host_rate("a", 0.5, [0.0, 0.3, 1.0]).min_gap == pytest.approx(0.3)
