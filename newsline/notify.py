"""Failure notification: a JSON POST to a webhook (Slack-, Teams- or PagerDuty-style relays accept
it) that names the DAG, the day, the task and the reason. E-mail goes through Airflow's own
``email_on_failure``/SMTP settings; see the README runbook.

The webhook URL is read when a failure happens, from ``NEWSLINE_ALERT_WEBHOOK`` or from the
Airflow connection ``newsline_alerts`` (its host/schema), never while a DAG file is parsed, and it
is never logged (it usually carries a token).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

WEBHOOK_ENV = "NEWSLINE_ALERT_WEBHOOK"
WEBHOOK_CONN_ID = "newsline_alerts"


def webhook_url() -> str | None:
    url = os.environ.get(WEBHOOK_ENV)
    if url:
        return url
    try:
        from airflow.sdk import Connection

        conn = Connection.get(WEBHOOK_CONN_ID)
    except Exception:  # noqa: BLE001 - no connection configured is the normal case
        return None
    if conn is None:
        return None
    host = conn.host or ""
    if host.startswith(("http://", "https://")):  # the documented form: the whole URL in the host field
        return host
    port = f":{conn.port}" if conn.port else ""
    return f"{conn.schema or 'https'}://{host}{port}" if host else None


def alert_message(context: Mapping[str, Any], *, kind: str = "task_failed", reason: str | None = None,
                  day: str | None = None) -> dict[str, Any]:
    """The alert payload: enough for on-call to act without opening the UI."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None)
    exc = context.get("exception")
    params = context.get("params") or {}
    if day is None:
        try:
            from newsline.dagsupport import covered_day
            from newsline.sites import get_site

            day = covered_day(context, get_site(params.get("site") or "japannews").timezone).isoformat()
        except (ValueError, TypeError, AttributeError):
            day = None
    day = day or params.get("day")
    text_reason = reason or (f"{type(exc).__name__}: {exc}" if exc else "unknown")
    return {
        "kind": kind,
        "dag_id": dag_id,
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id"),
        "day": day,
        "try_number": getattr(ti, "try_number", None),
        "reason": text_reason[:2000],
        "text": f"[newsline] {kind} dag={dag_id} task={getattr(ti, 'task_id', None)} day={day}: {text_reason[:500]}",
    }


def post_webhook(url: str, payload: Mapping[str, Any], timeout: float = 10.0) -> int:
    data = json.dumps(payload, default=str).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL is operator configuration
        return int(resp.status)


def on_failure(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: never raises (a broken alert must not hide the failure)."""
    send_alert(context, kind="task_failed")


def send_alert(context: Mapping[str, Any], *, kind: str, reason: str | None = None,
               day: str | None = None) -> dict[str, Any] | None:
    url = webhook_url()
    payload = alert_message(context, kind=kind, reason=reason, day=day)
    log.error("ALERT %s", payload["text"])
    if not url:
        return None
    try:
        status = post_webhook(url, payload)
        log.info("alert delivered to the webhook (HTTP %s)", status)
    except Exception as exc:  # noqa: BLE001
        log.error("alert webhook delivery failed: %s", type(exc).__name__)
    return payload
