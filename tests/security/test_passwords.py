"""argon2id hashing and the password policy (messages in zh_CN and en)."""

import pytest
from argon2 import PasswordHasher
from flask_babel import force_locale

from idaas.config import Settings
from idaas.security import passwords, secretbox, signin_policy
from idaas.security.policy import PasswordPolicy


def test_production_defaults_are_owasp_argon2id():
    fields = Settings.model_fields
    assert (
        fields["ARGON2_MEMORY_COST"].default,
        fields["ARGON2_TIME_COST"].default,
        fields["ARGON2_PARALLELISM"].default,
    ) == (19456, 2, 1)


def test_hash_is_argon2id_and_verifies(app):
    stored = passwords.hash_password("Some-Password-1")
    assert stored.startswith("$argon2id$v=19$m=256,t=1,p=1$")
    assert passwords.verify_password(stored, "Some-Password-1") == (True, None)
    assert passwords.verify_password(stored, "wrong") == (False, None)
    assert passwords.verify_password(None, "anything") == (False, None)
    assert passwords.verify_password("not-a-hash", "anything") == (False, None)


def test_verify_rehashes_when_parameters_change(app):
    old = PasswordHasher(memory_cost=128, time_cost=1, parallelism=1).hash("Some-Password-1")
    ok, new_hash = passwords.verify_password(old, "Some-Password-1")
    assert ok and new_hash and new_hash.startswith("$argon2id$v=19$m=256,t=1,p=1$")


def test_secretbox_round_trip_and_rotation(make_app):
    from cryptography.fernet import Fernet

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_app = make_app(ENCRYPTION_KEYS=[old_key])
    with old_app.app_context():
        token = secretbox.encrypt("dingtalk-app-secret")
        assert "dingtalk-app-secret" not in token
    rotated_app = make_app(ENCRYPTION_KEYS=f"{new_key},{old_key}")
    with rotated_app.app_context():
        assert secretbox.decrypt(token) == "dingtalk-app-secret"
        rotated = secretbox.rotate(token)
    new_only = make_app(ENCRYPTION_KEYS=[new_key])
    with new_only.app_context():
        assert secretbox.decrypt(rotated) == "dingtalk-app-secret"
        with pytest.raises(secretbox.SecretUnreadable, match="IDAAS_ENCRYPTION_KEYS"):
            secretbox.decrypt(token)


RULE_MESSAGES = {
    "en": [
        "The password must be at least 8 characters long.",
        "The password must mix at least 3 of: lowercase letters, uppercase letters, digits "
        "and symbols.",
        "The password must not contain your username, email or phone number.",
        "The password must differ from your last 5 passwords.",
    ],
    "zh_CN": [
        "密码长度至少为 8 个字符。",
        "密码必须至少包含以下 3 类字符：小写字母、大写字母、数字和符号。",
        "密码不能包含您的用户名、邮箱或手机号。",
        "新密码不能与最近 5 次使用的密码相同。",
    ],
}


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_each_broken_rule_has_its_own_message(app, locale):
    policy = signin_policy.effective().password
    previous = passwords.hash_password("alice")
    with app.test_request_context(), force_locale(locale):
        assert policy.violations("alice", ["alice"], [previous]) == RULE_MESSAGES[locale]
        assert policy.violations("Good-Enough-42", ["alice"], [previous]) == []
        assert len(policy.describe()) == 4


@pytest.mark.parametrize(
    ("password", "personal", "broken"),
    [
        ("short1A", [], 1),
        ("alllowercase", [], 1),
        ("Alice-2024!", ["alice"], 1),
        ("Pass-13800138000", ["+8613800138000"], 1),
        ("Mail-Bob-99", ["bob@example.com"], 1),
        ("Fine-Password-9", ["bob", "bob@example.com", "+8613800138000"], 0),
    ],
)
def test_policy_rules(app, password, personal, broken):
    with app.test_request_context():
        assert len(signin_policy.effective().password.violations(password, personal)) == broken


def test_policy_messages_reach_the_directory_error(app):
    from idaas.directory import service
    from idaas.directory.errors import ValidationFailed

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(ValidationFailed) as error:
            service.create_account("system", username="bob", password="bob")
    assert RULE_MESSAGES["zh_CN"][0] in error.value.fields["password"]
    assert RULE_MESSAGES["zh_CN"][2] in error.value.fields["password"]


def test_expiry(app):
    from datetime import datetime, timedelta

    now = datetime(2026, 1, 1)
    assert not PasswordPolicy(max_age_days=0).is_expired(now - timedelta(days=999), now)
    assert PasswordPolicy(max_age_days=90).is_expired(now - timedelta(days=91), now)
    assert not PasswordPolicy(max_age_days=90).is_expired(now - timedelta(days=89), now)
