"""The interface a sign-in method implements (DESIGN.md section 2, "Sign-in paths").

A source type is a subclass of `AuthSource` registered with `registry.register_type()`. A
configured source (a row of `auth_source`, or the built-in password source) is an instance.
On `/login` each enabled source that is shown there renders either an inline form
(`form_template`, posted back to `/login` and handled by `handle_post`) or a button linking to
`entry_url()`, a route the source owns on its own blueprint. Whatever the route, the source
ends by calling `idaas.auth.flow.complete_first_factor(account, method=..., source=self.name)`,
so MFA, the session, password expiry and the resume of `next` stay the same for every source.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Blueprint
from werkzeug.wrappers import Response


class AuthSource:
    """A configured sign-in method."""

    type: ClassVar[str] = ""
    #: A template included inside the login card (inline form), or None for a button.
    form_template: ClassVar[str | None] = None
    #: Routes the source type owns (e.g. `/login/dingtalk/<source>` and its callback).
    blueprint: ClassVar[Blueprint | None] = None

    def __init__(
        self,
        name: str,
        display_name: str,
        *,
        enabled: bool = True,
        show_on_login: bool = True,
        order: int = 0,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.display_name = display_name
        self.enabled = enabled
        self.show_on_login = show_on_login
        self.order = order
        self.settings = dict(settings or {})

    def entry_url(self, next_target: str | None) -> str | None:
        """Where the login-page button of this source goes (None when it has an inline form)."""
        return None

    def make_form(self) -> Any:
        """The inline form of this source, when it has one."""
        return None

    def handle_post(self, form: Any) -> Response | None:
        """Handle the inline form posted to /login; None to re-render the page with errors."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
