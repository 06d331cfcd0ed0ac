"""Key rotation: publish before signing, keep verifying, then retire (issue 6, scope 6)."""

from __future__ import annotations

import json
from datetime import timedelta

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from idaas.extensions import db, utcnow
from idaas.oidc import keys
from idaas.oidc.models import SigningKey


def _kids(client) -> set[str]:
    return {k["kid"] for k in client.get("/oauth2/jwks").get_json()["keys"]}


def _sign() -> str:
    return jwt.encode({"alg": "ES256"}, {"iss": "x"}, keys.signing_key_set("ES256"))


def test_rotation_overlap_and_retirement(client, runner):
    before = _sign()
    old_kid = jwt.decode(before, KeySet.import_key_set(keys.public_jwks())).header["kid"]
    result = runner.invoke(args=["keys", "rotate", "--overlap", "3600", "--json"])
    assert result.exit_code == 0, result.output
    new_kid = json.loads(result.output)["kid"]
    assert {old_kid, new_kid} <= _kids(client)  # published before it signs
    assert jwt.decode(_sign(), KeySet.import_key_set(keys.public_jwks())).header["kid"] == old_kid

    db.session.execute(
        update(SigningKey).where(SigningKey.kid == new_kid).values(activates_at=utcnow())
    )
    db.session.commit()
    keys._cache().signing.clear()
    after = _sign()
    assert jwt.decode(after, KeySet.import_key_set(keys.public_jwks())).header["kid"] == new_kid
    jwt.decode(before, KeySet.import_key_set(client.get("/oauth2/jwks").get_json()))  # still valid

    listed = json.loads(runner.invoke(args=["keys", "list", "--json"]).output)
    assert {r["kid"]: r["status"] for r in listed}[old_kid] == "retired"
    db.session.execute(
        update(SigningKey)
        .where(SigningKey.kid == old_kid)
        .values(retired_at=utcnow() - timedelta(days=2))
    )
    db.session.commit()
    keys._cache().clear()  # the clock moved behind the cache's back
    assert old_kid not in _kids(client) and new_kid in _kids(client)


def test_rs256_key_and_immediate_rotation(client, runner):
    keys.signing_key_set("RS256")
    first = {k["kid"] for k in keys.public_jwks()["keys"] if k["alg"] == "RS256"}
    runner.invoke(args=["keys", "rotate", "--alg", "RS256", "--overlap", "0"])
    token = jwt.encode({"alg": "RS256"}, {"a": 1}, keys.signing_key_set("RS256"))
    kid = jwt.decode(token, KeySet.import_key_set(keys.public_jwks())).header["kid"]
    assert kid not in first and first <= _kids(client)


def test_scheduled_rotation_starts_a_next_key(make_app):
    app = make_app(KEY_ROTATION_DAYS=1)
    with app.app_context():
        row = keys.ensure_active_key("ES256")
        db.session.execute(
            update(SigningKey)
            .where(SigningKey.id == row.id)
            .values(created_at=utcnow() - timedelta(days=2))
        )
        db.session.commit()
        keys.ensure_active_key("ES256")
        statuses = sorted(r.status for r in keys.list_keys())
        assert statuses == ["active", "next"]
