"""The S3 API server the cluster, the tests and the benchmarks run on this machine: moto's, with its
conditional writes made atomic as S3's are.

The warehouse's writer lock is an object created with a conditional PUT (``If-None-Match: *``, and a
take-over with ``If-Match``): S3 lets exactly one of two concurrent creators win. moto 5 checks the
condition and then stores the object as two steps of a request handler, and its server answers
requests on threads, so two creators could both pass the check: two loads held one site's lock and
one overwrote the other's rows (``tests/warehouse/test_many_writers_s3.py`` lost a shard's articles,
seldom, on a loaded machine). ``atomic_conditional_writes`` serialises the conditional PUTs of the
process (an unconditional PUT cannot break them), which is what S3 guarantees.

``python -m newsline.s3server -H 127.0.0.1 -p PORT`` runs moto's server (same arguments) with it.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_CONDITIONAL = threading.Lock()


def atomic_conditional_writes() -> None:
    """Make moto's conditional PutObject (``If-Match`` / ``If-None-Match``) atomic in this process."""
    from moto.s3.responses import S3Response

    original = S3Response.put_object
    if getattr(original, "newsline_atomic", False):
        return

    def put_object(self: Any) -> Any:
        if self.headers.get("If-None-Match") or self.headers.get("If-Match"):
            with _CONDITIONAL:
                return original(self)
        return original(self)

    put_object.newsline_atomic = True  # type: ignore[attr-defined]
    S3Response.put_object = put_object  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    from moto.server import main as moto_main

    atomic_conditional_writes()
    moto_main(sys.argv[1:] if argv is None else argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
