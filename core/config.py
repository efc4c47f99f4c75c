"""One place for every setting. Values come from the environment (or Airflow params, which the DAG
passes through to the same functions); nothing is edited in code to move from the demo site to the
live site."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEMO_PORT = 8765
DEFAULT_USER_AGENT = "NewslineBot/0.1 (+https://github.com/newsline/newsline; data-engineering contact)"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    warehouse: str = field(default_factory=lambda: _env("NEWSLINE_WAREHOUSE", str(REPO_ROOT / "data" / "warehouse")))
    staging: str = field(default_factory=lambda: _env("NEWSLINE_STAGING", str(REPO_ROOT / "data" / "runs")))
    archive: str = field(default_factory=lambda: _env("NEWSLINE_ARCHIVE", ""))  # "" = beside the run's staging
    base_url: str = ""  # per-run override of the site's base URL (CLI flag / DAG param); see base_url_for
    user_agent: str = field(default_factory=lambda: _env("NEWSLINE_USER_AGENT", DEFAULT_USER_AGENT))
    concurrency_per_domain: int = field(default_factory=lambda: int(_env("NEWSLINE_CONCURRENCY", "4")))
    download_delay: float = field(default_factory=lambda: float(_env("NEWSLINE_DOWNLOAD_DELAY", "0.5")))
    page_budget: int = field(default_factory=lambda: int(_env("NEWSLINE_PAGE_BUDGET", "5000")))
    time_budget_s: int = field(default_factory=lambda: int(_env("NEWSLINE_TIME_BUDGET", "3600")))
    blocked_threshold: float = field(default_factory=lambda: float(_env("NEWSLINE_BLOCKED_THRESHOLD", "0.2")))


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags, Airflow params) on top."""
    base = Settings()
    clean = {k: v for k, v in overrides.items() if v is not None and v != ""}
    if not clean:
        return base
    from dataclasses import replace

    return replace(base, **clean)  # type: ignore[arg-type]


def base_url_env(site_key: str) -> str:
    """``NEWSLINE_BASE_URL_<KEY>``: the environment variable that points one site elsewhere (the
    demo world and tests point each site at its 127.0.0.1 server this way)."""
    return "NEWSLINE_BASE_URL_" + site_key.upper().replace("-", "_")


def base_url_for(site_key: str, profile_base_url: str, settings: Settings | None = None) -> str:
    """The root a run crawls: the run's override, else ``NEWSLINE_BASE_URL_<KEY>``, else the profile's."""
    override = settings.base_url if settings is not None else ""
    return override or _env(base_url_env(site_key), "") or profile_base_url
