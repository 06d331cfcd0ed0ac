"""The `admin` blueprint and what every console view shares: confirm pages and errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.wrappers import Response
from wtforms import Form
from wtforms.validators import ValidationError

bp = Blueprint("admin", __name__, url_prefix="/admin")
T = TypeVar("T")


def confirmed() -> bool:
    """Whether this request is the POST of a confirm page or dialog (with a valid CSRF token)."""
    if request.method != "POST":
        return False
    from flask import current_app

    if current_app.config["WTF_CSRF_ENABLED"]:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            raise CSRFError(str(error)) from None
    return request.form.get("confirm") == "yes"


def confirm_page(
    *,
    title: str,
    question: str,
    confirm_label: str,
    cancel_url: str,
    crumbs: Sequence[tuple[str, str | None]] = (),
    details: Sequence[tuple[str, Any]] = (),
    danger: bool = True,
    hidden: Sequence[tuple[str, Any]] = (),
    reason_field: str | None = None,
    reason_error: str | None = None,
    status: int = 200,
) -> Response:
    """The no-JavaScript confirm page of a destructive action (the dialog posts the same URL)."""
    html = render_template(
        "admin/confirm.html",
        title=title,
        question=question,
        confirm_label=confirm_label,
        cancel_url=cancel_url,
        crumbs=[*crumbs, (title, None)],
        details=details,
        danger=danger,
        hidden=hidden,
        reason_field=reason_field,
        reason_error=reason_error,
    )
    return make_response(html, status)


def secret_page(
    *,
    title: str,
    secret: str,
    secret_label: str,
    next_url: str,
    client_id: str | None = None,
    crumbs: Sequence[tuple[str, str | None]] = (),
) -> Response:
    """Show a new secret once; never cached, never shown again."""
    response = make_response(
        render_template(
            "admin/secret.html",
            title=title,
            secret=secret,
            secret_label=secret_label,
            next_url=next_url,
            client_id=client_id,
            crumbs=[*crumbs, (title, None)],
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def apply_field_errors(
    form: Form, fields: dict[str, str], mapping: dict[str, str] | None = None
) -> None:
    """Put a service's per-field messages (ValidationFailed.fields) on the form's fields."""
    mapping = mapping or {}
    for name, message in fields.items():
        target = getattr(form, mapping.get(name, name), None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*list(target.errors or []), message]
        else:
            flash(f"{name}: {message}", "error")


def done(message: str, target: str) -> Response:
    """Flash a success message and go to `target` (post/redirect/get)."""
    flash(message, "success")
    return redirect(target)


def or_404(missing: type[Exception], load: Callable[..., T], *args: Any) -> T:
    """`load(*args)`, or a 404 when it raises `missing` (the object does not exist)."""
    try:
        return load(*args)
    except missing:
        abort(404)


def job_of(job_id: Any, kind: str, **params: Any) -> dict[str, Any] | None:
    """The job `job_id` as the API shows it if it is of `kind` with these params, else None."""
    from idaas.events import jobs

    try:
        number = int(job_id)
        if not 0 < number < 2**63:  # beyond the id column: no such job (not a database error)
            return None
        job = jobs.get(number)
    except (jobs.JobNotFound, TypeError, ValueError):
        return None
    given = job.params or {}
    if job.kind != kind or any(given.get(key) != value for key, value in params.items()):
        return None
    return jobs.job_to_dict(job)


def run_service(call: Callable[[], Any]) -> tuple[Any, Any]:
    """Call a service; return (result, None) or (None, the service's refusal)."""
    from idaas.applications.errors import ApplicationError
    from idaas.dingtalk.sync.runs import RunError
    from idaas.directory.errors import DirectoryError
    from idaas.scim.tokens import TokenError, TokenNotFound

    try:
        return call(), None
    except (DirectoryError, ApplicationError, RunError, TokenError, TokenNotFound) as error:
        return None, error


def confirmed_action(
    target: Any,
    *,
    title: str,
    question: str,
    label: str,
    run: Callable[[Any], Any],
    success: str,
    cancel_url: str,
    crumbs: Sequence[tuple[str, str | None]],
    details: Sequence[tuple[str, Any]],
    next_url: Callable[[Any], str] | None = None,
    danger: bool = True,
) -> Response:
    """Ask first (GET, or POST without `confirm`), then run the service on `target`.

    `run` may return a Response (e.g. a secret shown once); otherwise the admin goes to
    `next_url(result)` (default: back to `cancel_url`) with `success` flashed. A service error is
    shown on the confirm page.
    """
    if confirmed():
        result, error = run_service(lambda: run(target))
        if error is None:
            if isinstance(result, Response):
                return result
            return done(success, next_url(result) if next_url else cancel_url)
        flash(error_message(error), "error")
    return confirm_page(
        title=title,
        question=question,
        confirm_label=label,
        cancel_url=cancel_url,
        crumbs=crumbs,
        details=details,
        danger=danger,
    )


def error_message(error: Any) -> str:
    """The person-readable message of a service error."""
    return str(getattr(error, "message", None) or error) or gettext("That did not work.")


def refusal_text(error: Any) -> str:
    """A service's refusal in words: its field messages, or its message when it has none."""
    fields = getattr(error, "fields", None) or {}
    return "; ".join(fields.values()) if fields else error_message(error)


def write_then_go(call: Callable[[], Any], success: str, target: str) -> Response:
    """Run a console write, then go to `target` with `success` or the service's refusal."""
    _, error = run_service(call)
    if error is not None:
        flash(refusal_text(error), "error")
        return redirect(target)
    return done(success, target)


def ask_then_write(
    call: Callable[[], Any],
    success: str,
    target: str,
    *,
    title: str,
    question: str,
    label: str,
    crumbs: Sequence[tuple[str, str | None]],
    cancel_url: str | None = None,
) -> Response:
    """Ask on a confirm page; once confirmed, run the write and go to `target`.

    Cancel goes to `cancel_url` (default `target`); a refusal is flashed on the confirm page.
    """
    if confirmed():
        _, error = run_service(call)
        if error is None:
            return done(success, target)
        flash(refusal_text(error), "error")
    return confirm_page(
        title=title,
        question=question,
        confirm_label=label,
        cancel_url=cancel_url or target,
        crumbs=crumbs,
    )


@dataclass(frozen=True)
class Action:
    """A confirm-then-run console action: its words and the service call on the loaded object."""

    title: Any
    question: Any
    label: Any
    run: Callable[[Any], Any]
    success: Any = ""
    danger: bool = True


def add_actions(
    rule: str,
    endpoint: str,
    permission: str,
    perform: Callable[..., Response],
    actions: dict[str, Action],
) -> None:
    """A GET/POST route per action (`rule` with `{action}`), endpoint `<endpoint>_<action>`.

    Each calls `perform(**route arguments, title=..., question=..., ...)`, which loads the
    object and hands it to `confirmed_action` with the page's crumbs and details.
    """
    from idaas.admin.guard import require

    for slug, spec in actions.items():

        def view(_spec: Action = spec, **route: Any) -> Response:
            return perform(
                **route,
                title=str(_spec.title),
                question=str(_spec.question),
                label=str(_spec.label),
                run=_spec.run,
                success=str(_spec.success),
                danger=_spec.danger,
            )

        name = f"{endpoint}_{slug.replace('-', '_')}"
        view.__name__ = name
        view.__doc__ = f"{spec.title} (asks first)."
        bp.add_url_rule(
            rule.format(action=slug),
            endpoint=name,
            view_func=require(permission)(view),
            methods=["GET", "POST"],
        )
