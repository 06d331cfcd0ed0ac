"""Console page that edits the sign-in policy override (password, lockout, MFA, sessions)."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from idaas.admin.blueprint import apply_field_errors, bp, done, error_message
from idaas.admin.guard import actor, require
from idaas.security import signin_policy

NUMBER_FIELDS = tuple(name for name in signin_policy.FIELDS if name != "mfa_required")


def labels() -> dict[str, str]:
    """The policy fields' labels in the reader's language."""
    return {
        "password_min_length": gettext("Minimum password length"),
        "password_required_classes": gettext("Character classes required"),
        "password_history": gettext("Passwords remembered"),
        "password_max_age_days": gettext("Password maximum age (days, 0 = none)"),
        "lockout_threshold": gettext("Lockout after failed attempts"),
        "lockout_minutes": gettext("Lockout duration (minutes)"),
        "mfa_required": gettext("Two-step verification required"),
        "session_idle_minutes": gettext("Session idle timeout (minutes)"),
        "session_absolute_hours": gettext("Session absolute lifetime (hours)"),
    }


def shown(value: Any) -> str:
    """A policy value as the console shows it (yes/no for the MFA requirement)."""
    if isinstance(value, bool):
        return str(gettext("Yes") if value else gettext("No"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class SignInPolicyForm(FlaskForm):  # type: ignore[misc]
    """One text box per number (empty: the instance setting) and a choice for the MFA rule."""

    version = HiddenField()
    password_min_length = StringField(validators=[Optional(), Length(max=32)])
    password_required_classes = StringField(validators=[Optional(), Length(max=32)])
    password_history = StringField(validators=[Optional(), Length(max=32)])
    password_max_age_days = StringField(validators=[Optional(), Length(max=32)])
    lockout_threshold = StringField(validators=[Optional(), Length(max=32)])
    lockout_minutes = StringField(validators=[Optional(), Length(max=32)])
    mfa_required = SelectField(choices=[SelectChoice(v, v) for v in ("", "yes", "no")])
    session_idle_minutes = StringField(validators=[Optional(), Length(max=32)])
    session_absolute_hours = StringField(validators=[Optional(), Length(max=32)])

    def relabel(self, defaults: dict[str, Any]) -> SignInPolicyForm:
        """Labels, choices and the instance settings as placeholders, in the reader's language."""
        for name, text in labels().items():
            getattr(self, name).label.text = text
        for name in NUMBER_FIELDS:
            getattr(self, name).render_kw = {
                "placeholder": shown(defaults[name]),
                "inputmode": "decimal",
            }
        self.mfa_required.choices = [
            SelectChoice(
                "", gettext("Instance setting (%(value)s)", value=shown(defaults["mfa_required"]))
            ),
            SelectChoice("yes", gettext("Yes")),
            SelectChoice("no", gettext("No")),
        ]
        return self

    def changes(self) -> dict[str, Any]:
        """Every field as the service takes it (None: back to the instance setting)."""
        values: dict[str, Any] = {
            name: (getattr(self, name).data or "").strip() or None for name in NUMBER_FIELDS
        }
        choice = self.mfa_required.data
        values["mfa_required"] = None if not choice else choice == "yes"
        return values


def _fill(form: SignInPolicyForm, saved: dict[str, Any], version: int) -> None:
    form.version.data = str(version)
    for name in NUMBER_FIELDS:
        getattr(form, name).data = "" if saved[name] is None else shown(saved[name])
    mfa = saved["mfa_required"]
    form.mfa_required.data = "" if mfa is None else ("yes" if mfa else "no")


def _expected_version(raw: str | None) -> int:
    try:
        return int(raw or "0")
    except ValueError:
        return -1  # never a real version: answered as "changed meanwhile"


@bp.route("/signin/policy", methods=["GET", "POST"])
@require("settings.write")
def signin_policy_edit() -> Any:
    """Edit the sign-in policy: empty fields follow the instance settings."""
    defaults = signin_policy.defaults()
    form = SignInPolicyForm().relabel(defaults)
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                signin_policy.update(actor(), form.changes(), _expected_version(form.version.data))
            except signin_policy.SignInPolicyError as error:
                apply_field_errors(form, error.fields)
                form.form_errors.append(error_message(error))
                status = 409 if error.conflict else 422
            else:
                return done(gettext("The sign-in policy has been saved."), url_for("admin.signin"))
        else:
            status = 422
    else:
        current = signin_policy.effective()
        _fill(form, signin_policy.overrides(), current.version)
    invalid = [name for name in signin_policy.FIELDS if getattr(form, name).errors]
    return render_template(
        "admin/signin_policy.html",
        form=form,
        focus=invalid[0] if invalid else "password_min_length",
        defaults={name: shown(value) for name, value in defaults.items()},
        number_fields=NUMBER_FIELDS,
        crumbs=[
            (gettext("Sign-in"), url_for("admin.signin")),
            (gettext("Edit sign-in policy"), None),
        ],
    ), status


def policy_rows() -> list[tuple[str, str, bool]]:
    """(label, value in force, overridden) for each policy field, for the Sign-in page."""
    policy = signin_policy.effective()
    names = labels()
    return [
        (names[name], shown(value), name in policy.overridden)
        for name, value in policy.values().items()
    ]
