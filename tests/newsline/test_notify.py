from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from newsline.notify import on_failure


@pytest.fixture()
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_failure_callback_posts_dag_day_and_reason(webhook, monkeypatch) -> None:
    url, received = webhook
    monkeypatch.setenv("NEWSLINE_ALERT_WEBHOOK", url)
    ctx = {
        "ti": SimpleNamespace(dag_id="japannews_daily", task_id="crawl", try_number=3),
        "run_id": "scheduled__2024-09-05T15:00:00+00:00",
        "data_interval_start": datetime(2024, 9, 5, 15, tzinfo=UTC),
        "data_interval_end": datetime(2024, 9, 6, 15, tzinfo=UTC),
        "exception": RuntimeError("site is blocking: 40 of 50 pages empty"),
    }
    on_failure(ctx)
    assert len(received) == 1
    msg = received[0]
    assert msg["dag_id"] == "japannews_daily"
    assert msg["task_id"] == "crawl"
    assert msg["day"] == "2024-09-06"
    assert "site is blocking" in msg["reason"]
    assert "japannews_daily" in msg["text"] and "2024-09-06" in msg["text"]


def test_broken_webhook_never_raises(monkeypatch) -> None:
    monkeypatch.setenv("NEWSLINE_ALERT_WEBHOOK", "http://127.0.0.1:9/unreachable")
    on_failure({"ti": SimpleNamespace(dag_id="d", task_id="t", try_number=1), "exception": ValueError("x")})
