"""``python -m demo_site.fixtures [--out sites/fixtures]``: saved pages of the demo sites with their truth,
as site-profile fixtures (``<out>/<key>/<case>.html`` + ``<case>.json``).

The pages are the demo generator's own (placeholder text); each case picks a kind of page a profile must
get right: a revised article, a premium one, one with a dateline, a plain one.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from demo_site.world import DemoWorld

#: Fields a fixture states (the articles-table names).
FIXTURE_FIELDS = ("article_id", "url", "title", "revision", "section", "section_native", "dateline", "byline",
                  "authors", "body", "summary", "published_at", "modified_at", "language", "access", "keywords",
                  "image_url", "image_caption", "image_credit")


def _pick(truth: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    for rec in truth:
        if "revised" not in cases and rec.get("revision"):
            cases["revised"] = rec
        elif "premium" not in cases and rec.get("access") == "premium":
            cases["premium"] = rec
        elif "dateline" not in cases and rec.get("dateline"):
            cases["dateline"] = rec
        elif "plain" not in cases and not rec.get("revision") and not rec.get("dateline"):
            cases["plain"] = rec
    return cases


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def write_fixtures(out: Path, keys: list[str], port_base: int = 18765) -> list[Path]:
    written = []
    with DemoWorld(sites=keys, port_base=port_base) as world:
        for key in keys:
            folder = out / key
            folder.mkdir(parents=True, exist_ok=True)
            for case, rec in _pick(world.truth(key)).items():
                with urllib.request.urlopen(rec["url"]) as resp:
                    body = resp.read()
                (folder / f"{case}.html").write_bytes(body)
                expected = {f: _jsonable(rec.get(f)) for f in FIXTURE_FIELDS}
                meta = {"url": rec["url"], "expected": expected}
                (folder / f"{case}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                                     encoding="utf-8")
                written.append(folder / f"{case}.html")
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo_site.fixtures", description=__doc__)
    p.add_argument("--out", default="sites/fixtures")
    p.add_argument("--sites", default="metrotimes,valleyherald,rheinkurier")
    args = p.parse_args(argv)
    for path in write_fixtures(Path(args.out), args.sites.split(",")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
