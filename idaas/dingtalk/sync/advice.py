"""DingTalk errors met while syncing, turned into the action an administrator should take."""

from __future__ import annotations

from flask_babel import gettext

from idaas.dingtalk.errors import DingTalkError, InvalidCredentials, IpNotWhitelisted, TokenInvalid

SCOPE_ERRCODES = {50002, 50004}
PERMISSION_ERRCODES = {60011, 43007}


def _effective(error: DingTalkError) -> int | None:
    if error.errcode == 88 and error.code and error.code.lstrip("-").isdigit():
        return int(error.code)
    return error.errcode


def is_scope_error(error: DingTalkError) -> bool:
    """DingTalk said the department or person is outside the app's visible range (50002/50004)."""
    return _effective(error) in SCOPE_ERRCODES


def action_for(error: DingTalkError) -> str:
    """One sentence saying what to fix in DingTalk or in the connection, then DingTalk's words."""
    code = _effective(error)
    detail = error.detail or error.message
    if isinstance(error, IpNotWhitelisted):
        return error.message
    if isinstance(error, InvalidCredentials | TokenInvalid) or code in {40001, 40089, 33001}:
        action = gettext(
            "DingTalk refused the AppKey/AppSecret: copy the AppSecret again from the DingTalk "
            "developer console (应用凭证) into the connection."
        )
    elif code in PERMISSION_ERRCODES:
        action = gettext(
            "The app lacks a contacts permission: grant 通讯录只读权限 (and 手机号码信息, "
            "邮箱等个人信息) under 开发管理 → 权限管理, then retry."
        )
    elif code in SCOPE_ERRCODES:
        action = gettext(
            "The department is outside the app's visible range: widen the app's contacts "
            "scope (通讯录权限范围) to include it, then retry."
        )
    else:
        return str(error)
    return f"{action} ({gettext('DingTalk said')}: {detail}; errcode {code})"
