"""The sandbox-backed fixtures of the DingTalk sign-in tests, for the page tests."""

from tests.dingtalk_login.conftest import dt_app, dt_client, sandbox  # noqa: F401
