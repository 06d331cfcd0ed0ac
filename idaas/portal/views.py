"""Portal pages; every one needs a completed sign-in (`login_required`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from idaas.auth import mfa, own_password, sessions
from idaas.auth.forms import ChangePasswordForm, ConfirmForm
from idaas.auth.sessions import login_required
from idaas.auth.sources.password import locked_failure
from idaas.auth.views import enrolment_page
from idaas.directory import service as directory
from idaas.directory.errors import DirectoryError
from idaas.portal.apps import apps_for
from idaas.portal.forms import ProfileForm
from idaas.security import signin_policy

PROFILE_FIELDS = ("display_name", "email", "mobile", "locale")
bp = Blueprint("portal", __name__, url_prefix="/portal")


def _actor() -> str:
    return f"user:{g.account.id}"


def editable_fields() -> list[str]:
    """Profile fields the policy lets people edit, minus those an external source owns."""
    from idaas.directory.service.unit import OWNED_FIELDS

    allowed = [f for f in current_app.config["PORTAL_EDITABLE_FIELDS"] if f in PROFILE_FIELDS]
    source = g.account.source.split(":", 1)[0]
    owned = OWNED_FIELDS.get(source, {}).get("account", frozenset())
    return [f for f in allowed if f not in owned]


@bp.get("")
@bp.get("/")
@login_required
def home() -> str:
    """The signed-in home: application tiles and a summary of the account."""
    return render_template(
        "portal/home.html",
        apps=apps_for(g.account),
        mfa_enrolled=mfa.is_enrolled(g.account.id),
        session_count=sessions.live_session_count(g.account.id),
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    """Show the profile and edit the fields the policy allows."""
    fields = editable_fields()
    form = ProfileForm(obj=g.account)
    if form.validate_on_submit():
        changes = {name: (getattr(form, name).data or None) for name in fields}
        try:
            directory.update_account(_actor(), g.account.id, **changes)
        except DirectoryError as failure:
            for name, message in failure.fields.items():
                if name in fields:
                    getattr(form, name).errors = [message]
            if not failure.fields:
                flash(failure.message, "error")
        else:
            flash(gettext("Your profile has been saved."), "success")
            return redirect(url_for("portal.profile"))
    return render_template("portal/profile.html", form=form, editable=fields)


@bp.get("/identities")
@login_required
def identities() -> str:
    """Linked external identities (DingTalk) with an unlink button each."""
    return render_template(
        "portal/identities.html",
        identities=directory.identities_of(g.account.id),
        form=ConfirmForm(),
    )


@bp.post("/identities/<int:identity_id>/unlink")
@login_required
def unlink(identity_id: int) -> Response:
    """Remove one of the person's own linked identities."""
    ids = {identity.id for identity in directory.identities_of(g.account.id)}
    if identity_id not in ids or not ConfirmForm().validate_on_submit():
        abort(404)
    directory.unlink_identity(_actor(), identity_id, reason="user")
    flash(gettext("The identity has been unlinked."), "success")
    return redirect(url_for("portal.identities"))


@bp.get("/sessions")
@login_required
def session_list() -> str:
    """The person's active sessions (this one marked) with sign-out buttons."""
    current = sessions.current()
    return render_template(
        "portal/sessions.html",
        rows=sessions.live_sessions(g.account.id),
        current_id=current.id if current else None,
        form=ConfirmForm(),
        expires_at=sessions.expires_at,
    )


@bp.post("/sessions/others/revoke")
@login_required
def revoke_others() -> Response:
    """Sign out every other session of the person."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    current = sessions.current()
    count = sessions.revoke_all(
        g.account.id, "user_signed_out_others", _actor(), keep=current.id if current else None
    )
    flash(gettext("Signed out of %(num)d other session(s).", num=count), "success")
    return redirect(url_for("portal.session_list"))


@bp.post("/sessions/<int:session_id>/revoke")
@login_required
def revoke_one(session_id: int) -> Response:
    """Sign out one of the person's sessions."""
    row = sessions.get_session(session_id)
    if row is None or row.account_id != g.account.id or not ConfirmForm().validate_on_submit():
        abort(404)
    sessions.end_session(row, "user_signed_out", _actor())
    flash(gettext("The session has been signed out."), "success")
    if sessions.current() is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for("portal.session_list"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    """Change the password (current one required); other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            outcome = own_password.change(
                g.account, sessions.current(), form.current_password.data, form.new_password.data
            )
        except DirectoryError as failure:
            form.new_password.errors = list(failure.fields.values()) or [failure.message]
        else:
            if outcome.result == "changed":
                flash(
                    gettext("Your password has been changed. Your other sessions were signed out."),
                    "success",
                )
                return redirect(url_for("portal.home"))
            if outcome.locked_until is not None:
                message = locked_failure(outcome.locked_until).message
                if outcome.result == "locked_now":
                    flash(message, "error")
                    return redirect(url_for("auth.login"))
                form.current_password.errors = [message]
            else:
                form.current_password.errors = [gettext("The current password is incorrect.")]
    return render_template(
        "portal/password.html", form=form, rules=signin_policy.effective().password.describe()
    )


@bp.get("/mfa")
@login_required
def mfa_settings() -> str:
    """Two-step verification: status, set up, recovery codes, turn off."""
    return render_template(
        "portal/mfa.html",
        enrolled=mfa.is_enrolled(g.account.id),
        required=mfa.is_required(g.account.id),
        codes_left=mfa.recovery_codes_left(g.account.id),
        form=ConfirmForm(),
    )


@bp.route("/mfa/totp", methods=["GET", "POST"])
@login_required
def mfa_setup() -> Any:
    """Add an authenticator app: scan the QR code, confirm with a code, get recovery codes."""
    if mfa.is_enrolled(g.account.id):
        return redirect(url_for("portal.mfa_settings"))

    def finished() -> str:
        row = sessions.current()
        if row is not None:
            sessions.add_method(row, "otp")
        return url_for("portal.mfa_settings")

    return enrolment_page(
        g.account, _actor(), endpoint="portal.mfa_setup", forced=False, finished=finished
    )


@bp.post("/mfa/recovery-codes")
@login_required
def mfa_new_codes() -> Any:
    """Replace the recovery codes (the old ones stop working)."""
    if not ConfirmForm().validate_on_submit() or not mfa.is_enrolled(g.account.id):
        abort(400)
    codes = mfa.regenerate_recovery_codes(g.account.id, _actor())
    return render_template(
        "auth/recovery_codes.html", codes=codes, continue_url=url_for("portal.mfa_settings")
    )


@bp.post("/mfa/disable")
@login_required
def mfa_disable() -> Response:
    """Turn two-step verification off (not allowed when it is required)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if mfa.is_required(g.account.id):
        flash(gettext("Two-step verification is required for your account."), "error")
    else:
        mfa.disable(g.account.id, _actor())
        flash(gettext("Two-step verification is off."), "success")
    return redirect(url_for("portal.mfa_settings"))
