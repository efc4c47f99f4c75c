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


def site_of_dag(dag_id: str | None) -> str | None:
    """The site key whose profile builds this DAG (None for other DAGs or an unreadable registry)."""
    if not dag_id:
        return None
    try:
        from core.sites import all_sites

        return next((key for key, site in all_sites().items() if site.dag == dag_id), None)
    except Exception:  # noqa: BLE001 - an alert must go out even when the registry cannot be read
        return None


def lead_cause(reason: str) -> str:
    """The line of a (possibly multi-line, log-dump) failure text that says what went wrong: the
    crawler's own verdict, else the first line that is not a traceback frame or a bare log prefix."""
    lines = [ln.strip() for ln in reason.splitlines() if ln.strip()]
    for line in lines:
        if "crawler.run: " in line:
            return line.split("crawler.run: ", 1)[1]
    for line in lines:
        if not line.startswith(("Traceback", "File ", "^", "~")):
            return line
    return reason.strip() or "unknown"


def alert_message(context: Mapping[str, Any], *, kind: str = "task_failed", reason: str | None = None,
                  day: str | None = None) -> dict[str, Any]:
    """The alert payload: one line on-call can act on — site, day, task, the cause, try n of m, the log —
    then the full reason for whoever opens it."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None)
    exc = context.get("exception")
    params = context.get("params") or {}
    site = params.get("site") or site_of_dag(dag_id)
    if day is None and site:
        try:
            from core.sites import get_site
            from newsline.dagsupport import covered_day

            day = covered_day(context, get_site(site).timezone).isoformat()
        except (ValueError, TypeError, AttributeError):
            day = None
    day = day or params.get("day")
    text_reason = reason or (f"{type(exc).__name__}: {exc}" if exc else "unknown")
    cause = lead_cause(text_reason)[:300]
    try_number = getattr(ti, "try_number", None)
    max_tries = getattr(ti, "max_tries", None)
    if max_tries is None and context.get("task") is not None:
        max_tries = getattr(context["task"], "retries", None)
    tries = f"try {try_number} of {max_tries + 1}" if isinstance(try_number, int) and isinstance(max_tries, int) \
        else (f"try {try_number}" if try_number else "")
    log_url = getattr(ti, "log_url", None)
    task_id = getattr(ti, "task_id", None)
    head = " ".join(p for p in (site or dag_id, day, task_id) if p)
    text = f"[newsline] {kind}: {head}: {cause}" + (f" ({tries})" if tries else "") + (f" — log: {log_url}" if log_url else "")
    return {
        "kind": kind,
        "site": site,
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": context.get("run_id"),
        "day": day,
        "try_number": try_number,
        "max_tries": max_tries,
        "cause": cause,
        "reason": text_reason[:2000],
        "log_url": log_url,
        "text": text,
    }


def post_webhook(url: str, payload: Mapping[str, Any], timeout: float = 10.0) -> int:
    data = json.dumps(payload, default=str).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL is operator configuration
        return int(resp.status)


def on_failure(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback`` (called once, when a task has no try left): never raises (a broken
    alert must not hide the failure). A failure that already sent its own alert (a quality check) is not
    announced twice."""
    if getattr(context.get("exception"), "alerted", False):
        return
    send_alert(context, kind="task_failed")


def send_alert(context: Mapping[str, Any], *, kind: str, reason: str | None = None,
               day: str | None = None) -> dict[str, Any] | None:
    payload = alert_message(context, kind=kind, reason=reason, day=day)
    log.error("ALERT %s", payload["text"])
    url = webhook_url()
    if not url:
        return None
    try:
        status = post_webhook(url, payload)
        payload["delivered"] = status
        log.info("alert delivered to the webhook (HTTP %s)", status)
    except Exception as exc:  # noqa: BLE001
        payload["delivered"] = None
        log.error("alert webhook delivery failed: %s", type(exc).__name__)
    return payload
