"""DingTalk sign-in pages: QR, micro-app free login, `/login/bind`.

Views stay thin: `idaas.dingtalk.signin` owns state, codes and the person; `idaas.auth.binding`
owns the account; `idaas.auth.flow` owns the session, MFA and the resume of `next`.

DingTalk docs (under https://open.dingtalk.com/document/development/):
  tutorial-obtaining-user-personal-information, enterprise-internal-application-logon-free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from limits import parse
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from idaas.auth import binding, flow, reset, sessions, sources
from idaas.auth.binding import BindingRefused, Person
from idaas.auth.sources.dingtalk import (
    DINGTALK_TYPES,
    EMBED_ENVIRON_KEY,
    DingTalkSourceBase,
    target_for_app,
)
from idaas.auth.sources.password import SignInFailed
from idaas.dingtalk import connections, signin
from idaas.dingtalk.connections import DingTalkConnection
from idaas.dingtalk.signin import SignInProblem
from idaas.directory.models import Account
from idaas.extensions import limiter

bp = Blueprint("dingtalk", __name__)
#: How the pending first DingTalk sign-in was proven (QR or workbench), kept across /login/bind.
CHANNEL_KEY = "idaas_dt_channel"
MAX_CLIENT_ID = 128


class BindForm(FlaskForm):
    """Prove a local account: identifier (username, email or mobile) and password."""

    identifier = StringField(
        _l("Username, email or mobile"), validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class MicroForm(FlaskForm):
    """The free-login code posted by the micro-app page and the page's state."""

    code = HiddenField(validators=[DataRequired(), Length(max=512)])
    state = HiddenField(validators=[DataRequired(), Length(max=2048)])


_RESET_HANDLER = "idaas_dingtalk_reset_handler"


def register_reset_handler(app: Flask, handler: Callable[[Any, Person, str], Any]) -> None:
    """Let self-service password reset take over a DingTalk proof whose state is a reset's."""
    app.extensions[_RESET_HANDLER] = handler


def _proven_for_reset(src: DingTalkSourceBase, person: Person, method: str) -> Any:
    return current_app.extensions[_RESET_HANDLER](src, person, method)


def _source(name: str) -> tuple[DingTalkSourceBase, DingTalkConnection]:
    source = sources.get(name)
    if source is None or source.type not in DINGTALK_TYPES:
        abort(404)
    assert isinstance(source, DingTalkSourceBase)
    conn = connections.get(source.connection_name)
    if conn is None:
        abort(404)
    return source, conn


def _problem_page(problem: SignInProblem, source: str) -> tuple[str, int]:
    """The friendly page for a failed DingTalk step, with a retry link."""
    titles = {
        "state": gettext("This sign-in link is no longer valid"),
        "code": gettext("The DingTalk sign-in expired or was already used"),
        "outsider": gettext("You are not a member of this organisation"),
        "denied": gettext("DingTalk sign-in was cancelled"),
        "dingtalk": gettext("DingTalk could not confirm who you are"),
        "account": gettext("This account cannot sign in"),
    }
    texts = {
        "state": gettext(
            "The sign-in request was changed, used twice, started in another browser or took "
            "too long. Start again."
        ),
        "code": gettext("Each DingTalk sign-in can be used only once and only for a few minutes."),
        "outsider": gettext(
            "Your DingTalk account does not belong to the organisation this service is for. "
            "Sign in with your organisation's DingTalk account, or ask your IT administrator."
        ),
        "denied": gettext("You did not allow the sign-in in DingTalk. You can try again."),
        "dingtalk": gettext("DingTalk did not answer as expected. Please try again shortly."),
        "account": gettext(
            "The account linked to your DingTalk identity is disabled. Ask your IT administrator."
        ),
    }
    body = render_template(
        "auth/dingtalk_error.html",
        kind=problem.kind,
        title=titles.get(problem.kind, titles["dingtalk"]),
        text=texts.get(problem.kind, texts["dingtalk"]),
        retry=url_for("dingtalk.start", source=source),
    )
    return body, problem.status


def _app_param() -> str | None:
    """The `app` (client id) a micro-app or fallback sign-in continues to, if plausible."""
    app = request.values.get("app") or None
    return app if app and len(app) <= MAX_CLIENT_ID else None


def _continue_path(app: str | None) -> str | None:
    return url_for("dingtalk.continue_to_app", app=app) if app else None


def _throttled() -> bool:
    """Count a sign-in start per client IP (each one stores a nonce); True when over the limit."""
    spec = current_app.config["DINGTALK_START_RATE_LIMIT"]
    if not spec or not limiter.enabled:
        return False
    prefix = str(current_app.config["RATELIMIT_KEY_PREFIX"])
    return not limiter.limiter.hit(
        parse(spec), prefix, "idaas-dingtalk-start", request.remote_addr or "-"
    )


def _sign_in(
    source: DingTalkSourceBase, conn: DingTalkConnection, person: Person, channel: str
) -> Any:
    """Resolve the account (binding rules) and start the session, or go to `/login/bind`."""
    if source.setting("auto_link") or source.setting("jit"):
        signin.enrich(conn, person)
    account = binding.resolve(source, person)
    if account is None:
        binding.start_pending(source.name, person)
        session[CHANNEL_KEY] = channel
        return redirect(url_for("dingtalk.bind"))
    if account.status != "active":
        return _problem_page(SignInProblem("account", "inactive", 403), source.name)
    binding.clear_pending()
    return flow.complete_first_factor(
        account, method="dingtalk", source=source.name, channel=channel
    )


@bp.after_app_request
def embedded_qr_csp(response: Response) -> Response:
    """Let /login load DingTalk's embedded-QR script and frame when a source shows it."""
    origins = request.environ.get(EMBED_ENVIRON_KEY)
    if origins and "Content-Security-Policy" not in response.headers:
        script, frame = origins
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' {script}; frame-src {frame}; "
            "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'none'"
        )
    return response


@bp.get("/login/dingtalk/<source>")
def start(source: str) -> Any:
    """Start a QR sign-in: redirect to DingTalk's authorize page with a signed state."""
    src, conn = _source(source)
    if _throttled():
        abort(429)
    app = _app_param()
    next_target = _continue_path(app) or flow.clean_next(request.args.get("next"))
    if _inside_dingtalk() and not request.args.get("qr"):
        # A QR code cannot be scanned by the phone that shows it: inside DingTalk's web view
        # use free login instead, which needs no scan.
        params: dict[str, Any] = (
            {"app": app} if app else {"next": next_target} if next_target else {}
        )
        return redirect(url_for("dingtalk.micro", source=src.name, **params))
    state = signin.make_state(src.name, next_target, app)
    return redirect(signin.authorize_url(conn, src.name, state))


@bp.get("/login/dingtalk/<source>/callback")
def callback(source: str) -> Any:
    """DingTalk's redirect back: check state, exchange the code, sign in."""
    src, conn = _source(source)
    if request.args.get("error"):
        return _problem_page(SignInProblem("denied", "denied", 400), src.name)
    code = request.args.get("authCode") or request.args.get("code") or ""
    return _finish(src, conn, request.args.get("state"), signin.person_from_qr, code, "dingtalk_qr")


def _finish(
    src: DingTalkSourceBase,
    conn: DingTalkConnection,
    state_value: str | None,
    person_from: Callable[[DingTalkConnection, str, str], Person],
    code: str,
    channel: str,
) -> Any:
    """Consume the state, redeem the code with `person_from`, then reset a password or sign in."""
    try:
        state = signin.consume_state(state_value, src.name)
        person = person_from(conn, src.name, code)
    except SignInProblem as problem:
        return _problem_page(problem, src.name)
    if reset.is_reset_state(state):
        return _proven_for_reset(src, person, channel)
    flow.remember_next(state["next"] or None)
    return _sign_in(src, conn, person, channel)


def _inside_dingtalk() -> bool:
    """Whether the page is open in DingTalk's own web view (its user agent says so)."""
    return "dingtalk" in request.headers.get("User-Agent", "").lower()


def _jsapi_url() -> str:
    return str(current_app.config["DINGTALK_JSAPI_URL"])


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@bp.route("/login/dingtalk-micro/<source>", methods=["GET", "POST"])
def micro(source: str) -> Any:
    """Workbench free login: in DingTalk ask the JSAPI for a code; elsewhere, QR."""
    src, conn = _source(source)
    app = _app_param()
    if request.method == "POST":
        form = MicroForm()
        if not form.validate_on_submit():
            return _problem_page(SignInProblem("code", "missing"), src.name)
        return _finish(
            src,
            conn,
            form.state.data,
            signin.person_from_micro,
            form.code.data,
            "dingtalk_workbench",
        )
    next_target = _continue_path(app) or flow.clean_next(request.args.get("next"))
    if not _inside_dingtalk():
        if app:
            return redirect(url_for("dingtalk.start", source=src.name, app=app))
        query: dict[str, Any] = {"next": next_target} if next_target else {}
        return redirect(url_for("dingtalk.start", source=src.name, **query))
    if _throttled():
        abort(429)
    return micro_page(
        conn,
        signin.make_state(src.name, next_target, app),
        action=url_for("dingtalk.micro", source=src.name, app=app),
        retry=url_for(
            "dingtalk.micro", source=src.name, app=app, next=None if app else next_target
        ),
    )


def micro_page(conn: DingTalkConnection, state: str, *, action: str, retry: str) -> Response:
    """The free-login page (§3.1) posting DingTalk's code with `state` to `action`; its CSP
    lets it load the JSAPI script. Also used by self-service password reset."""
    jsapi = _jsapi_url()
    response = Response(
        render_template(
            "auth/dingtalk_micro.html",
            form=MicroForm(state=state),
            jsapi_url=jsapi,
            corp_id=conn.corp_id,
            client_id=conn.app_key,
            action=action,
            retry=retry,
        ),
        mimetype="text/html",
    )
    origin = _origin(jsapi)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {origin}; connect-src 'self' {origin}; "
        "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"
    )
    return response


@bp.get("/login/dingtalk-continue")
def continue_to_app() -> Any:
    """After a micro-app sign-in: on to the application (IdP-initiated OIDC) or the portal."""
    if sessions.current() is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(target_for_app(request.args.get("app")))


@bp.route("/login/bind", methods=["GET", "POST"])
def bind() -> Any:
    """First DingTalk sign-in: prove which local account is yours (password, then MFA)."""
    waiting = binding.pending()
    if waiting is None:
        return redirect(url_for("auth.login"))
    source_name, person = waiting
    source = sources.get(source_name)
    if not isinstance(source, DingTalkSourceBase):
        binding.clear_pending()
        return redirect(url_for("auth.login"))
    form = BindForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            account: Account = binding.bind(
                source, person, form.identifier.data, form.password.data
            )
        except SignInFailed as failure:
            error, status = failure.message, failure.status
        except BindingRefused as refused:
            error, status = refused.message, refused.status
        else:
            binding.clear_pending()
            channel = session.pop(CHANNEL_KEY, None)
            return flow.complete_first_factor(
                account, method="dingtalk", source=source.name, channel=channel or "dingtalk_qr"
            )
    form.password.data = ""
    body = render_template("auth/bind.html", form=form, error=error, person=person, source=source)
    return body, status
