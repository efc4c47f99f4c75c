"""Records the spider emits besides articles: a page that did not become an item."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from crawler.parsers.base import REJECT_KINDS

#: What happened to a page that is not in items.jsonl: what its parser rejected it as, or ``failed``
#: (no usable response: HTTP error, network, robots.txt, off-site redirect, not fetched).
REJECTION_KINDS = (*REJECT_KINDS, "failed")


@dataclass
class Rejection:
    url: str
    kind: str  # one of REJECTION_KINDS
    reason: str
    http_status: int | None = None
    at: str | None = None  # ISO 8601 UTC, when the spider gave up on the page
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
