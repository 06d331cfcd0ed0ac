"""Sign-in pages: /login, the MFA step, forced enrolment and password change, /logout."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response

from idaas.auth import flow, mfa, sessions, sources
from idaas.auth.forms import ConfirmForm, EnrolForm, MfaForm, NewPasswordForm
from idaas.auth.models import AuthSession
from idaas.auth.sources.password import SignInFailed, locked_failure
from idaas.directory import service as directory
from idaas.directory.errors import DirectoryError
from idaas.directory.models import Account
from idaas.extensions import db
from idaas.security import signin_policy
from idaas.web import csp_allowing_frames

bp = Blueprint("auth", __name__)


def _pending(state: str) -> AuthSession | Response:
    """The session in `state`, or a redirect to wherever this browser should be instead."""
    row = sessions.current_any()
    if row is None:
        return redirect(url_for("auth.login"))
    if row.state != state:
        return flow.redirect_for(row)
    return row


def pending_step(state: str) -> Callable[[Callable[[AuthSession], Any]], Callable[[], Any]]:
    """Run the view with the sign-in session in `state`; elsewhere, send the browser on."""

    def decorate(view: Callable[[AuthSession], Any]) -> Callable[[], Any]:
        @wraps(view)
        def step() -> Any:
            row = _pending(state)
            return row if isinstance(row, Response) else view(row)

        return step

    return decorate


def _account_of(row: AuthSession) -> Account:
    """The account a pending sign-in session belongs to."""
    account = db.session.get(Account, row.account_id)
    assert account is not None
    return account


def enrolment_page(
    account: Account, actor: str, *, endpoint: str, forced: bool, finished: Callable[[], str]
) -> str:
    """Add an authenticator: the QR code page, then the recovery codes (continue: `finished()`)."""
    form = EnrolForm()
    error = None
    if form.validate_on_submit():
        codes = mfa.confirm_enrolment(account.id, form.code.data, actor)
        if codes is not None:
            return render_template("auth/recovery_codes.html", codes=codes, continue_url=finished())
        error = gettext("That code is not valid. Try the current code from your app.")
    secret = mfa.start_enrolment(account.id)
    return render_template(
        "auth/mfa_enrol.html",
        form=form,
        error=error,
        secret=secret,
        qr=mfa.qr_data_uri(mfa.provisioning_uri(account, secret)),
        action=url_for(endpoint),
        forced=forced,
    )


@bp.get("/")
def index() -> Response:
    """The start page: the portal when signed in, else the login page."""
    if sessions.current() is not None:
        return redirect(url_for("portal.home"))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the enabled sign-in methods; handle the posted inline form (password)."""
    next_target = flow.clean_next(request.values.get("next"))
    signed_in = sessions.current() is not None
    if signed_in and request.method == "GET" and not flow.reauthentication_requested():
        flow.remember_next(next_target)
        return redirect(flow.resume_url())
    shown = sources.on_login_page()
    forms: dict[str, Any] = {}
    error, status = None, 200
    if request.method == "POST":
        name = request.form.get("source") or sources.DEFAULT_PASSWORD_SOURCE
        source = sources.get(name)
        if source is None or source.form_template is None:
            abort(400)
        form = source.make_form()
        flow.remember_next(next_target)
        try:
            response = source.handle_post(form)
        except SignInFailed as failure:
            error, status = failure.message, failure.status
        else:
            if response is not None:
                return response
        if hasattr(form, "password"):
            form.password.data = ""
        forms[source.name] = form
    for source in shown:
        if source.form_template and source.name not in forms:
            form = source.make_form()
            if hasattr(form, "next"):
                form.next.data = next_target or ""
            forms[source.name] = form
    body = render_template(
        "auth/login.html", sources=shown, forms=forms, error=error, next_target=next_target
    )
    return body, status


@bp.route("/login/mfa", methods=["GET", "POST"])
@pending_step("mfa")
def mfa_step(row: AuthSession) -> Any:
    """Second step: a TOTP code or a recovery code."""
    form = MfaForm()
    error, status = None, 200
    if form.validate_on_submit():
        result = flow.check_second_factor(row, form.code.data, request.remote_addr or "")
        if result.outcome == "ok" and result.method is not None:
            response = flow.complete_step(row, result.method)
            if result.method == "recovery":
                flash(
                    gettext(
                        "You used a recovery code. %(num)d left.",
                        num=mfa.recovery_codes_left(row.account_id),
                    ),
                    "warning",
                )
            if form.remember.data and mfa.remember_days():
                value = mfa.remember_this_device(row.account_id, f"user:{row.account_id}")
                response.set_cookie(
                    mfa.DEVICE_COOKIE,
                    value,
                    max_age=mfa.remember_days() * 86400,
                    httponly=True,
                    samesite="Lax",
                    secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
                )
            return response
        if result.outcome == "locked" and result.locked_until is not None:
            flash(locked_failure(result.locked_until).message, "error")
            return redirect(url_for("auth.login"))
        if result.outcome == "throttled":
            error, status = gettext("Too many attempts. Please wait a minute and try again."), 429
        else:
            error = gettext("That code is not valid. Try the current code from your app.")
    form.code.data = ""
    page = render_template(
        "auth/mfa.html", form=form, error=error, remember_days=mfa.remember_days()
    )
    return page, status


@bp.route("/login/mfa/enrol", methods=["GET", "POST"])
@pending_step("mfa_enrol")
def mfa_enrol(row: AuthSession) -> Any:
    """Forced enrolment: MFA is required and the account has no authenticator yet."""
    account = _account_of(row)
    return enrolment_page(
        account,
        f"user:{account.id}",
        endpoint="auth.mfa_enrol",
        forced=True,
        finished=lambda: str(flow.complete_step(row, "otp").location),
    )


@bp.route("/login/password", methods=["GET", "POST"])
@pending_step("password")
def change_password(row: AuthSession) -> Any:
    """Forced password change (first sign-in, admin reset, or expiry)."""
    account = _account_of(row)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            directory.set_password(f"user:{account.id}", account.id, form.new_password.data)
        except DirectoryError as failure:
            form.new_password.errors = [*form.new_password.errors, *failure.fields.values()] or [
                failure.message
            ]
        else:
            flash(gettext("Your password has been changed."), "success")
            return flow.complete_step(row)
    expired = not account.must_change_password and flow.password_expired(account)
    return render_template(
        "auth/change_password.html",
        form=form,
        expired=expired,
        rules=signin_policy.effective().password.describe(),
    )


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    """GET asks for confirmation; POST (with CSRF) ends the session on the server."""
    row = sessions.current_any()
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        frames: list[str] = []
        if row is not None:
            frames = flow.logout_frames(row.id)
            sessions.sign_out(row)
        if frames:
            # Front-channel logout: the relying parties' pages load in hidden iframes first.
            page = make_response(render_template("auth/signed_out.html", frames=frames))
            page.headers["Content-Security-Policy"] = csp_allowing_frames(frames)
            return page
        flash(gettext("You have signed out."), "success")
        return redirect(url_for("auth.login"))
    if row is None:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html", form=form)
