"""Steps of the web app's flows as a person does them in the browser, shared by the browser tests
(each area's own tests, and the whole seed flow in tests/browser/test_seed_flow.py)."""

from __future__ import annotations
