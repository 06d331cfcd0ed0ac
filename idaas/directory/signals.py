"""Signals sent inside a directory write, for modules that react (sessions, links).

Receivers add their work to the write's transaction and never commit: the directory service
commits it all, or rolls it all back (and in SCIM Bulk, one operation's savepoint does).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent when an account stops being active. sender: the app; kwargs: account_id, status, origin.
account_deactivated = _signals.signal("account-deactivated")
#: sender: the Flask app; kwargs: account_id, origin, reset (an admin set it), forced (the person
#: completed a required change, e.g. at first sign-in).
password_changed = _signals.signal("password-changed")
