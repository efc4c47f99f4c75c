"""A whole demo day under a mix of faults: every discovered article is accounted for, what the site
served intact is stored equal to the truth, and a clean re-run converges to the truth."""

from __future__ import annotations

from faultkit import DAY, crawl_outputs, spec, stored, truth

from newsline.pipeline import run_day

#: One article page of the day per kind (forced, so every kind is certainly exercised); two of the
#: wrong-charset kind so both variants (header-latin1 and body-cp1252) are likely to appear.
KINDS = ["error", "throttle", "slow", "reset", "truncate", "charset-wrong", "charset-wrong", "charset-wrong",
         "charset-missing", "malformed", "redirect-loop", "offsite-redirect", "oversized", "gzip-bomb", "empty"]
SETTINGS = ("tracking=0.3,burst=1,retry_after=1,slow_seconds=3,oversized_bytes=11000000,bomb_bytes=40000000,"
            "seed=11")
PERSISTENT = {"redirect-loop", "offsite-redirect", "oversized", "gzip-bomb", "empty", "challenge"}


def fault_mix(server) -> str:
    paths = sorted("/" + r["url"].split("/", 3)[3] for r in server.truth(day=DAY))
    force = "+".join(f"{kind}@{path}" for kind, path in zip(KINDS, paths[::2], strict=False))
    return f"{SETTINGS},force={force}"


def test_fault_mix_accounting_and_convergence(demo, tmp_path) -> None:
    demo.set_faults(fault_mix(demo))
    summary = run_day(spec(tmp_path, demo.base_url, "mix-1"), incremental=False)
    report, items, rejections = crawl_outputs(tmp_path / "runs" / "japannews" / DAY.isoformat() / "mix-1")
    kinds = {e.kind for e in demo.fault_events}
    print("fault kinds applied:", sorted(kinds))
    assert set(KINDS) <= kinds, sorted(kinds)

    # tracking duplicates: listed twice, fetched once
    assert report["duplicates_dropped"] > 0
    article_gets = [t for m, t in demo.requests if m == "GET" and "utm_" in t]
    assert not article_gets, article_gets[:3]

    # accounting: every discovered article has exactly one outcome, with a reason when not stored
    discovered = set(report["discovered_urls"])
    item_urls = {i["url"] for i in items}
    rejected = {r["url"]: r for r in rejections}
    assert item_urls | set(rejected) == discovered
    assert not item_urls & set(rejected)
    assert all(r["reason"] and r["kind"] in ("failed", "blocked", "malformed", "not_article")
               for r in rejections)
    assert report["articles_discovered"] == (report["items_scraped"] + report["pages_failed"]
                                             + report["pages_blocked"] + report["pages_rejected"]
                                             + report["pages_not_fetched"] + report["pages_skipped_unchanged"])
    assert report["retry_count"] > 0 and report["retry_after_honoured"] > 0
    assert all(m["ok"] for m in report["monitors"]), report["monitors"]
    assert summary["status"] == "ok"

    # persistently broken pages failed or were blocked; everything else is stored equal to the truth
    broken_paths = {e.path for e in demo.fault_events if e.kind in PERSISTENT}
    want = truth(demo)
    got = stored(tmp_path)
    missing = {aid for aid, row in want.items() if aid not in got}
    for aid in missing:
        path = "/" + want[aid]["url"].split("/", 3)[3]
        assert path in broken_paths, f"{aid} was served intact at some point but is not stored"
        assert want[aid]["url"] in rejected, f"{aid} vanished without a rejection"
    assert len(missing) == len({p for p in broken_paths if any(w["url"].endswith(p) for w in want.values())})
    for aid, row in got.items():
        assert row == want[aid], f"{aid}: stored differs from the truth"
    print(f"fault mix: discovered {len(discovered)}, stored {len(got)}, failed/blocked {len(missing)}, "
          f"retries {report['retry_count']}, duplicates dropped {report['duplicates_dropped']}")

    # the faults go away: a re-run converges to the truth
    demo.set_faults(None)
    run_day(spec(tmp_path, demo.base_url, "mix-2"))
    assert stored(tmp_path) == want
