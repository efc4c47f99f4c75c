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
    assert msg["text"].startswith("[newsline] task_failed: japannews 2024-09-06 crawl: RuntimeError: site is blocking")


def test_broken_webhook_never_raises(monkeypatch, caplog) -> None:
    """An unreachable webhook: the callback returns normally, the alert is still in the task log and the
    delivery failure is logged (before, the test asserted nothing)."""
    from newsline.notify import send_alert

    monkeypatch.setenv("NEWSLINE_ALERT_WEBHOOK", "http://127.0.0.1:9/unreachable")
    ctx = {"ti": SimpleNamespace(dag_id="d", task_id="t", try_number=1), "exception": ValueError("x")}
    with caplog.at_level("INFO", logger="newsline.notify"):
        assert on_failure(ctx) is None
        payload = send_alert(ctx, kind="task_failed")
    assert payload is not None and payload["delivered"] is None
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("ALERT [newsline] task_failed: d t: ValueError: x") for m in messages)
    assert any("alert webhook delivery failed" in m for m in messages)
    assert not any("unreachable" in m for m in messages), "the webhook URL (it carries a token) is never logged"


def test_the_alert_leads_with_site_day_task_cause_tries_and_log(webhook, monkeypatch) -> None:
    """Before: a multi-line crawler-log dump with the cause cut off the end. Now one line leads."""
    url, received = webhook
    monkeypatch.setenv("NEWSLINE_ALERT_WEBHOOK", url)
    dump = "\n".join([
        "crawl of rheinkurier 2024-03-31 failed (exit 3): 2024-03-31 10:00:00 [scrapy.core.engine] INFO: Spider opened",
        *[f"2024-03-31 10:00:0{i} [scrapy.extensions.logstats] INFO: Crawled {i} pages" for i in range(6)],
        "crawler.run: discovery failed: no sitemap, feed or listing page could be read (robots.txt: HTTP 503)",
        "crawler.run: monitor retry_rate failed: 0.9 of requests retried",
    ])
    ctx = {
        "ti": SimpleNamespace(dag_id="news_rheinkurier_daily", task_id="crawl", try_number=3, max_tries=2,
                              log_url="http://airflow.internal/dags/news_rheinkurier_daily/runs/x/tasks/crawl"),
        "run_id": "scheduled__2024-03-30T22:00:00+00:00",
        "data_interval_start": datetime(2024, 3, 30, 23, tzinfo=UTC),
        "data_interval_end": datetime(2024, 3, 31, 22, tzinfo=UTC),
        "exception": RuntimeError(dump),
    }
    on_failure(ctx)
    msg = received[0]
    assert msg["site"] == "rheinkurier" and msg["day"] == "2024-03-31"
    assert msg["text"] == ("[newsline] task_failed: rheinkurier 2024-03-31 crawl: discovery failed: no sitemap, feed "
                           "or listing page could be read (robots.txt: HTTP 503) (try 3 of 3) — log: "
                           "http://airflow.internal/dags/news_rheinkurier_daily/runs/x/tasks/crawl")
    assert "\n" not in msg["text"] and "Crawled 5 pages" in msg["reason"]


def test_a_quality_failure_alerts_once_on_the_last_try(webhook, monkeypatch) -> None:
    """Before: one quality alert per try. Now the retry stays quiet and the final failure alerts once."""
    from newsline.dagsupport import final_try

    url, received = webhook
    monkeypatch.setenv("NEWSLINE_ALERT_WEBHOOK", url)
    assert not final_try({"ti": SimpleNamespace(try_number=1, max_tries=1)})
    assert final_try({"ti": SimpleNamespace(try_number=2, max_tries=1)})
    exc = RuntimeError("quality checks failed: japannews 2024-09-12: empty_day")
    exc.alerted = True
    on_failure({"ti": SimpleNamespace(dag_id="newsline_quality", task_id="check_and_report", try_number=2,
                                      max_tries=1), "exception": exc})
    assert received == [], "a quality failure that already alerted is not announced a second time"
