"""Callback crypto (dingtalk-api.md §6.3): published vectors, round-trips, typed failures."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idaas.dingtalk.crypto import (
    BadAesKey,
    BadPadding,
    BadSignature,
    CallbackCrypto,
    CallbackVerifier,
    DecryptionFailed,
    LengthMismatch,
    OwnerKeyMismatch,
    ReplayCache,
    ReplayedCallback,
    StaleTimestamp,
    aes_key_bytes,
    generate_aes_key,
    normalise_event,
    sign,
)

# §6.4 published test vectors: token, aes_key, owner_key, timestamp, nonce, signature,
# encrypt, plaintext, random prefix.
VECTORS = [
    (
        "123456",
        "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij",
        "suite4xxxxxxxxxxxxxxx",
        "1445827045067",
        "nEXhMP4r",
        "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0",
        "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVd"
        "UBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9"
        "PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
        '{"EventType":"check_create_suite_url","Random":"LPIdSnlF",'
        '"TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}',
        "hU3bEfGZZewzhG5a",
    ),
    (
        "mryue",
        "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
        "ding6ccabc44d2c8d38b",
        "1608001896814",
        "WL4PK6yA",
        "03044561471240d4a14bb09372dfcfd4fd0e40cb",
        "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYx"
        "xOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
        '{"EventType":"check_url"}',
        "l7Y3EcX2CU5w8av3",
    ),
    (
        "tokenxxxx",
        "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus",
        "dingxxxxxx",
        "1605695694141",
        "WelUQl6bCqcBa2fM",
        "f36f4ba5337d426c7d4bca0dbcb06b3ddc1388fc",
        "X1VSe9cTJUMZu60d3kyLYTrBq5578ZRJtteU94wG0Q4Uk6E/wQYeJRIC0/UFW5Wkya1Ihz9oXAdLlyC9TRaqsQ==",
        "success",
        "WelUQl6bCqcBa2fM",
    ),
]


@pytest.mark.parametrize("vector", VECTORS, ids=["doc-0346", "crypto3-py", "success-go"])
def test_published_vectors(vector: tuple[str, ...]) -> None:
    """Signature, decryption and byte-exact re-encryption of §6.4 vectors #1-#3."""
    token, aes_key, owner, timestamp, nonce, signature, encrypted, plain, prefix = vector
    crypto = CallbackCrypto(token, aes_key, owner)
    assert sign(token, timestamp, nonce, encrypted) == signature
    crypto.check_signature(signature, timestamp, nonce, encrypted)
    assert crypto.decrypt(encrypted) == plain
    assert crypto.encrypt(plain, random_prefix=prefix) == encrypted


def test_vector_one_key_bytes() -> None:
    """§6.4: the AES key of vector #1 in hex."""
    assert aes_key_bytes(VECTORS[0][1]).hex() == (
        "e20e63eb8aa5ca5df3bdeb6ac73e638a871daf9f3a7e7db3be3a5af3396cde28"
    )


@settings(max_examples=60, deadline=None)
@given(message=st.text(), owner=st.text(min_size=1, max_size=40))
def test_round_trip_any_message_and_owner(message: str, owner: str) -> None:
    """encrypt/decrypt round-trips for any UTF-8 message and owner key (§6.3)."""
    crypto = CallbackCrypto("token", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij", owner)
    encrypted = crypto.encrypt(message)
    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert crypto.decrypt(encrypted) == message


@settings(max_examples=30, deadline=None)
@given(message=st.text(max_size=200))
def test_seal_and_open_round_trip(message: str) -> None:
    """The signed envelope opens with the same settings (§6.2)."""
    crypto = CallbackCrypto("tok", generate_aes_key(), "dingcorp")
    assert crypto.open(crypto.seal(message)) == message


def test_owner_key_mismatch_is_refused() -> None:
    """A message encrypted for owner key A is rejected by a receiver expecting owner key B."""
    aes_key = generate_aes_key()
    sealed = CallbackCrypto("token", aes_key, "dingAppKeyA").encrypt('{"EventType":"check_url"}')
    with pytest.raises(OwnerKeyMismatch) as error:
        CallbackCrypto("token", aes_key, "dingAppKeyB").decrypt(sealed)
    assert error.value.code == 900010


@pytest.mark.parametrize("bad", ["short", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3i!", "x" * 44])
def test_bad_aes_key(bad: str) -> None:
    """Keys that are not 43 base64 characters are refused (900004)."""
    with pytest.raises(BadAesKey):
        CallbackCrypto("t", bad, "o")


def test_bad_padding_length_and_base64() -> None:
    """Wrong key -> bad padding; forged length -> length mismatch; junk -> decryption failed."""
    crypto = CallbackCrypto("t", generate_aes_key(), "owner")
    other = CallbackCrypto("t", generate_aes_key(), "owner")
    encrypted = crypto.encrypt("hello")
    with pytest.raises((BadPadding, LengthMismatch, OwnerKeyMismatch)):
        other.decrypt(encrypted)
    with pytest.raises(DecryptionFailed):
        crypto.decrypt("not base64 at all!")
    with pytest.raises(DecryptionFailed):
        crypto.decrypt(base64.b64encode(b"123").decode())
    # A plaintext whose 4-byte length claims more than there is.
    forged = _encrypt_raw(crypto, b"R" * 16 + (10_000).to_bytes(4, "big") + b"hi" + b"owner")
    with pytest.raises(LengthMismatch):
        crypto.decrypt(forged)
    # Padding byte 0 is invalid (must be 1..32).
    with pytest.raises(BadPadding):
        crypto.decrypt(_encrypt_raw(crypto, b"A" * 31 + b"\x00", pad=False))


def _encrypt_raw(crypto: CallbackCrypto, raw: bytes, pad: bool = True) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if pad:
        n = 32 - len(raw) % 32
        raw += bytes([n]) * n
    encryptor = Cipher(algorithms.AES(crypto.key), modes.CBC(crypto.key[:16])).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


class Clock:
    """A settable clock for the verifier."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _push(crypto: CallbackCrypto, event: dict[str, object], ts: str, nonce: str) -> tuple:
    encrypted = crypto.encrypt(json.dumps(event))
    query = {
        "msg_signature": crypto.signature(ts, nonce, encrypted),
        "timestamp": ts,
        "nonce": nonce,
    }
    return query, {"encrypt": encrypted}


def test_verifier_accepts_then_refuses_replay_and_tampering() -> None:
    """The checking side refuses a tampered signature and a replayed (timestamp, nonce) pair."""
    crypto = CallbackCrypto("tok123", generate_aes_key(), "dingapp")
    clock = Clock(1_700_000_000.0)
    verifier = CallbackVerifier(crypto, window=300, clock=clock)
    ts = str(int(clock.now * 1000))
    query, body = _push(crypto, {"EventType": "user_add_org", "UserId": ["u1"]}, ts, "n0nce1")
    assert verifier.open(query, body)["UserId"] == ["u1"]
    with pytest.raises(ReplayedCallback):
        verifier.open(query, body)
    tampered = dict(query, msg_signature="0" * 40)
    query2, body2 = _push(crypto, {"EventType": "x"}, ts, "n0nce2")
    with pytest.raises(BadSignature):
        verifier.open(dict(query2, msg_signature=tampered["msg_signature"]), body2)
    # The refused push did not burn its nonce: the genuine one is still accepted.
    assert verifier.open(query2, body2)["EventType"] == "x"


def test_verifier_signature_names_and_timestamp_units() -> None:
    """Either `signature` or `msg_signature`, ms or s timestamps; stale ones refused (§6.2)."""
    crypto = CallbackCrypto("tok123", generate_aes_key(), "dingapp")
    clock = Clock(1_700_000_000.0)
    verifier = CallbackVerifier(crypto, window=300, clock=clock)
    query, body = _push(crypto, {"EventType": "a"}, str(int(clock.now)), "n1")
    query["signature"] = query.pop("msg_signature")
    assert verifier.open(query, body)["EventType"] == "a"
    stale = str(int((clock.now - 301) * 1000))
    query, body = _push(crypto, {"EventType": "b"}, stale, "n2")
    with pytest.raises(StaleTimestamp):
        verifier.open(query, body)
    with pytest.raises(StaleTimestamp):
        verifier.open({**query, "timestamp": "abc"}, body)


def test_replay_cache_forgets_after_ttl() -> None:
    """Pairs are forgotten after the TTL, bounding memory."""
    cache = ReplayCache(ttl=10)
    assert cache.check_and_add("1", "a", now=0)
    assert not cache.check_and_add("1", "a", now=5)
    assert cache.check_and_add("1", "a", now=20)


def test_reply_is_encrypted_success() -> None:
    """The acknowledgement decrypts to `success` with the receiver's own signature (§6.2)."""
    crypto = CallbackCrypto("tok123", generate_aes_key(), "dingapp")
    reply = CallbackVerifier(crypto).reply()
    assert set(reply) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert crypto.open(reply) == "success"


def test_normalise_event_both_casings() -> None:
    """Legacy (UserId/TimeStamp) and current (userId/timeStamp string) payloads agree (§6.5)."""
    legacy = {
        "EventType": "user_add_org",
        "TimeStamp": 43535463645,
        "UserId": ["a"],
        "CorpId": "ding1",
    }
    current = {
        "EventType": "user_add_org",
        "EventTime": 1,
        "timeStamp": "43535463645",
        "userId": ["a"],
        "CorpId": "ding1",
    }
    assert normalise_event(legacy) == normalise_event(current)
    dept = normalise_event({"EventType": "org_dept_create", "deptId": [5]})
    assert dept["dept_ids"] == [5] and dept["user_ids"] == []
