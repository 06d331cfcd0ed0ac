"""DingTalk client test fixtures (from tests/sandbox/fixtures.py)."""

from tests.sandbox.fixtures import dingtalk, http, live_sandbox, receiver  # noqa: F401
