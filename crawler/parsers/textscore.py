"""Token-multiset agreement between two texts: the body metric of the evaluation and the drift alarm."""

from __future__ import annotations

import re
from collections import Counter

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN_RE.findall(text or ""))


def token_prf(extracted: str, expected: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of the extracted text's tokens against the expected text's."""
    got, want = tokens(extracted), tokens(expected)
    common = sum((got & want).values())
    if not got or not want or not common:
        return 0.0, 0.0, 0.0
    p, r = common / sum(got.values()), common / sum(want.values())
    return p, r, 2 * p * r / (p + r)


def token_f1(a: str, b: str) -> float:
    return token_prf(a, b)[2]
