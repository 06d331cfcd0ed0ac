"""Forms of the sign-in pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """Identifier (username, email or mobile) and password."""

    identifier = StringField(
        _l("Username, email or mobile"), validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    source = HiddenField()


class MfaForm(FlaskForm):
    """A TOTP code or a recovery code."""

    code = StringField(_l("Authentication code"), validators=[DataRequired(), Length(max=32)])
    remember = BooleanField(_l("Remember this device"), default=False)


class EnrolForm(FlaskForm):
    """The first code from a newly added authenticator."""

    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)]
    )


class NewPasswordForm(FlaskForm):
    """A new password, typed twice."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(NewPasswordForm):
    """The current password and a new one."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )


class ConfirmForm(FlaskForm):
    """A button-only form (the CSRF token is the point)."""


class IdentifierForm(FlaskForm):
    """Which account: username, email or mobile."""

    identifier = StringField(
        _l("Username, email or mobile"), validators=[DataRequired(), Length(max=254)]
    )


class CodeForm(FlaskForm):
    """The one-time code from the DingTalk work notification."""

    code = StringField(_l("Code from DingTalk"), validators=[DataRequired(), Length(max=16)])


class LinkForm(FlaskForm):
    """A button-only form confirming the one-time link (a prefetch must not consume it)."""
