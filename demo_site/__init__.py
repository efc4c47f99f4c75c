"""The demo news site: a deterministic Japan News look-alike with generated text, served on 127.0.0.1."""

from __future__ import annotations

from demo_site.generator import DemoSite
from demo_site.server import DemoServer

__all__ = ["DemoServer", "DemoSite"]
