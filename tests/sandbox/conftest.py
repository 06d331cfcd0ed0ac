"""Sandbox test fixtures (shared with tests/dingtalk and tests/e2e)."""

from tests.sandbox.fixtures import dingtalk, http, live_sandbox, receiver  # noqa: F401
