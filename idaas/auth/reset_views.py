"""Pages of self-service password reset under `/login/reset` (service: `idaas.auth.reset`)."""

from __future__ import annotations

import threading
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import flash as flash_message
from flask_babel import gettext
from werkzeug.wrappers import Response

from idaas.auth import reset, sources
from idaas.auth.forms import CodeForm, IdentifierForm, LinkForm, MfaForm, NewPasswordForm
from idaas.auth.reset import ResetRefused
from idaas.directory.errors import DirectoryError
from idaas.security import signin_policy
from idaas.ui import inside_dingtalk

bp = Blueprint("reset", __name__, url_prefix="/login/reset")


def _ip() -> str:
    return request.remote_addr or "-"


def _refused_page(kind: str, status: int) -> tuple[str, int]:
    """A refusal in plain words; `kind` never tells which account check failed."""
    texts = {
        "not_linked": gettext(
            "No account here is linked to this DingTalk identity, so the password cannot be "
            "reset this way. Ask your IT administrator."
        ),
        "code": gettext(
            "The code is wrong, expired or already used. Request a new code and try again."
        ),
        "ticket": gettext("This reset was already used or has expired. Start again."),
        "throttled": gettext("Too many attempts. Please wait a while and try again."),
        "mfa": gettext("Too many wrong codes. Start again later."),
    }
    body = render_template(
        "auth/reset/refused.html", text=texts.get(kind, texts["ticket"]), kind=kind
    )
    return body, status


def _require_enabled() -> Any:
    if not reset.enabled():
        return render_template("auth/reset/disabled.html"), 404
    return None


def _dingtalk_sources() -> list[Any]:
    """The enabled DingTalk sources that can prove an identity (QR and workbench)."""
    from idaas.auth.sources.dingtalk import DINGTALK_TYPES

    return [s for s in sources.enabled() if s.type in DINGTALK_TYPES]


@bp.get("")
@bp.get("/")
def start() -> Any:
    """Choose how to prove who you are: DingTalk scan (or free login) or a DingTalk code."""
    closed = _require_enabled()
    if closed is not None:
        return closed
    return render_template(
        "auth/reset/start.html",
        dingtalk=_dingtalk_sources()[:1],
        in_dingtalk=inside_dingtalk(),
        form=IdentifierForm(),
    )


@bp.get("/dingtalk/<source>")
def dingtalk(source: str) -> Any:
    """Prove the identity with DingTalk: free login inside DingTalk, else the QR page (§2, §3)."""
    closed = _require_enabled()
    if closed is not None:
        return closed
    from idaas.dingtalk import signin
    from idaas.dingtalk.login import _source, micro_page

    src, conn = _source(source)
    if reset.throttled("ip", _ip()):
        return _refused_page("throttled", 429)
    state = signin.make_state(src.name, reset.RESET_MARK, None)
    if not inside_dingtalk():
        return redirect(signin.authorize_url(conn, src.name, state))
    return micro_page(
        conn,
        state,
        action=url_for("dingtalk.micro", source=src.name),
        retry=url_for("reset.dingtalk", source=src.name),
    )


def proven_by_dingtalk(source: Any, person: Any, method: str) -> Any:
    """DingTalk confirmed `person` (QR or workbench): a ticket for the linked account, or refuse."""
    if not reset.enabled():
        return render_template("auth/reset/disabled.html"), 404
    account = reset.account_for_person(person.corp_id, person.userid)
    if account is None:
        reset.refuse_unlinked(f"dingtalk:{source.connection_name}", method)
        return _refused_page("not_linked", 403)
    reset.start_ticket(account.id, method)
    return redirect(url_for("reset.next_step"))


@bp.post("/code")
def request_code() -> Any:
    """Send a one-time code to the DingTalk identity linked to the account, if there is one."""
    closed = _require_enabled()
    if closed is not None:
        return closed
    form = IdentifierForm()
    if not form.validate_on_submit():
        abort(400)
    identifier = form.identifier.data.strip()
    if reset.throttled("ip", _ip()) or reset.throttled("identifier", identifier):
        return _refused_page("throttled", 429)
    minutes = int(current_app.config["PASSWORD_RESET_CODE_MINUTES"])

    def message(code: str, link_token: str) -> str:
        # Built on the configured issuer, never the request's Host header: a forged Host
        # would otherwise plant the attacker's site in the victim's notification.
        link = str(current_app.config["ISSUER"]) + url_for("reset.link", token=link_token)
        text: str = gettext(
            "Your code to reset your password is %(code)s (valid for %(minutes)d minutes). "
            "Or open: %(link)s . If you did not ask for this, ignore this message.",
            code=code,
            minutes=minutes,
            link=link,
        )
        return text

    request_id, notification = reset.request_code(identifier, _ip(), message)
    response = redirect(url_for("reset.enter_code", request_id=request_id))
    if notification is not None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        # Beside the response, not before it: the answer takes as long for an unknown account
        # (no enumeration), whatever DingTalk's latency.
        threading.Thread(
            target=reset.send_notification, args=(app, notification), daemon=True
        ).start()
    return response


@bp.route("/code/<request_id>", methods=["GET", "POST"])
def enter_code(request_id: str) -> Any:
    """Type the code from the work notification (the page looks the same for any request id)."""
    closed = _require_enabled()
    if closed is not None:
        return closed
    if len(request_id) > 64:
        abort(404)
    form = CodeForm()
    if form.validate_on_submit():
        if reset.throttled("ip", _ip()):
            return _refused_page("throttled", 429)
        try:
            account_id = reset.redeem_code(request_id, form.code.data, _ip())
        except ResetRefused as refused:
            return _refused_page(refused.kind, 400)
        reset.start_ticket(account_id, "dingtalk_code")
        return redirect(url_for("reset.next_step"))
    return render_template(
        "auth/reset/code.html",
        form=form,
        minutes=int(current_app.config["PASSWORD_RESET_CODE_MINUTES"]),
    )


@bp.route("/link/<token>", methods=["GET", "POST"])
def link(token: str) -> Any:
    """The one-time link from the work notification: confirm with a button, then use it once."""
    closed = _require_enabled()
    if closed is not None:
        return closed
    form = LinkForm()
    if form.validate_on_submit():
        if reset.throttled("ip", _ip()):
            return _refused_page("throttled", 429)
        try:
            account_id = reset.redeem_link(token, _ip())
        except ResetRefused as refused:
            return _refused_page(refused.kind, 400)
        reset.start_ticket(account_id, "dingtalk_code")
        return redirect(url_for("reset.next_step"))
    return render_template("auth/reset/link.html", form=form)


@bp.get("/next")
def next_step() -> Response:
    """Where a ticket goes next: the second factor, then the new password."""
    ticket = reset.current_ticket()
    if ticket is None:
        return redirect(url_for("reset.start"))
    if reset.mfa_needed(ticket):
        return redirect(url_for("reset.mfa_step"))
    return redirect(url_for("reset.new_password"))


@bp.route("/mfa", methods=["GET", "POST"])
def mfa_step() -> Any:
    """The account's second factor (TOTP or a recovery code) before a new password."""
    ticket = reset.current_ticket()
    if ticket is None:
        return _refused_page("ticket", 410)
    if not reset.mfa_needed(ticket):
        return redirect(url_for("reset.new_password"))
    form = MfaForm()
    error = None
    if form.validate_on_submit():
        if reset.verify_mfa(ticket, form.code.data):
            return redirect(url_for("reset.new_password"))
        if reset.current_ticket() is None:
            return _refused_page("mfa", 429)
        error = gettext("That code is not valid. Try the current code from your app.")
    form.code.data = ""
    return render_template("auth/reset/mfa.html", form=form, error=error)


@bp.route("/password", methods=["GET", "POST"])
def new_password() -> Any:
    """Choose the new password (the policy applies); the ticket is used once."""
    ticket = reset.current_ticket()
    if ticket is None:
        return _refused_page("ticket", 410)
    if reset.mfa_needed(ticket):
        return redirect(url_for("reset.mfa_step"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            reset.complete(ticket, form.new_password.data)
        except ResetRefused as refused:
            return _refused_page(refused.kind, refused.status)
        except DirectoryError as failure:
            form.new_password.errors = [*form.new_password.errors, *failure.fields.values()] or [
                failure.message
            ]
        else:
            flash_message(
                gettext("Your password has been reset. Sign in with the new password."), "success"
            )
            return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset/password.html", form=form, rules=signin_policy.effective().password.describe()
    )


def init_app(app: Any) -> None:
    """Register the reset pages and take over DingTalk proofs made for a reset."""
    from idaas.dingtalk import login

    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
    login.register_reset_handler(app, proven_by_dingtalk)
