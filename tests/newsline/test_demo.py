"""`newsline demo` starts its own demo sites and never crawls a server it did not start."""

from __future__ import annotations

import socket

import pytest

from newsline.demo import free_port, start_demo_site, start_demo_world


def test_a_taken_port_is_refused_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port\\(s\\) already in use: http://127.0.0.1:{port}/"):
            start_demo_site(port)
        with pytest.raises(RuntimeError, match="already in use"):
            start_demo_world(port)


def test_the_demo_site_it_starts_answers() -> None:
    import urllib.request

    port = free_port()
    proc = start_demo_site(port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=5) as resp:
            assert resp.status == 200 and b"Sitemap:" in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
