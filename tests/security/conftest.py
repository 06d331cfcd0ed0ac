"""Fixtures the hardening tests borrow from the API and DingTalk sign-in suites."""

from tests.api.conftest import api_as  # noqa: F401
from tests.dingtalk_login.conftest import sandbox  # noqa: F401
from tests.sandbox.fixtures import http  # noqa: F401
