"""Crawler test support.

Hypothesis, on a failing property, asks libcst to write a source patch with the failing example;
with Twisted's zope.interface loaded that step crashes pytest (``AttributeError: __provides__``) and
hides the real failure. The failing example is still printed with the error, so the patch is dropped.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    if hasattr(item, "_hypothesis_failing_examples"):
        item._hypothesis_failing_examples = None
    return outcome
