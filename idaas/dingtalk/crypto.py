"""DingTalk HTTP-callback crypto (dingtalk-api.md §6.3) and the receiving side's verifier.

`CallbackCrypto` is the symmetric scheme both ends use (signature, AES-256-CBC with a 32-byte
PKCS#7 block, owner-key suffix); `CallbackVerifier` is what idaas's
`/callbacks/dingtalk/<connection>` uses on every push: signature, timestamp window,
(timestamp, nonce) replay cache, owner key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
_ALNUM = string.ascii_letters + string.digits


class CallbackCryptoError(Exception):
    """A callback could not be verified or decrypted; `code` is the official library's 9000xx."""

    code = 900008
    reason = "decryption failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.reason)
        self.message = message or self.reason


class BadAesKey(CallbackCryptoError):
    """The aes_key is not 43 base64 characters decoding to 32 bytes (§6.3 step 1)."""

    code = 900004
    reason = "the aes_key must be exactly 43 characters of [a-zA-Z0-9] (32 bytes once decoded)"


class BadSignature(CallbackCryptoError):
    """The SHA-1 signature over (token, timestamp, nonce, encrypt) does not match (§6.3 step 6)."""

    code = 900005
    reason = "signature mismatch: check the callback token"


class BadPadding(CallbackCryptoError):
    """The 32-byte-block PKCS#7 padding is not 1..32 or inconsistent (§6.3 step 2)."""

    code = 900008
    reason = "bad padding: wrong aes_key or corrupted message"


class DecryptionFailed(CallbackCryptoError):
    """The ciphertext is not base64 or not a whole number of AES blocks."""

    code = 900008
    reason = "decryption failed: the encrypt field is not valid AES-CBC base64"


class LengthMismatch(CallbackCryptoError):
    """The 4-byte big-endian message length does not fit the plaintext (§6.3 step 3)."""

    code = 900009
    reason = "decrypted length mismatch: wrong aes_key or corrupted message"


class OwnerKeyMismatch(CallbackCryptoError):
    """The plaintext's trailing owner key is not the expected AppKey/corpId (§6.3 step 5)."""

    code = 900010
    reason = "owner key mismatch: the message was encrypted for another app or corp"


class StaleTimestamp(CallbackCryptoError):
    """The callback's timestamp is missing, not a number or outside the accepted window."""

    code = 900002
    reason = "timestamp missing or outside the accepted window"


class ReplayedCallback(CallbackCryptoError):
    """The (timestamp, nonce) pair was already seen within the window."""

    code = 900003
    reason = "replayed callback: this (timestamp, nonce) pair was already accepted"


def aes_key_bytes(aes_key: str) -> bytes:
    """Decode a 43-character aes_key into the 32-byte AES-256 key (§6.3 step 1)."""
    if len(aes_key) != 43:
        raise BadAesKey()
    try:
        key = base64.b64decode(aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise BadAesKey() from None
    if len(key) != 32:
        raise BadAesKey()
    return key


def generate_aes_key() -> str:
    """A fresh 43-character alphanumeric aes_key, as the DingTalk console generates."""
    while True:
        candidate = "".join(secrets.choice(_ALNUM) for _ in range(43))
        try:
            aes_key_bytes(candidate)
        except BadAesKey:
            continue
        return candidate


def random_nonce(length: int = 16) -> str:
    """Random ASCII alphanumerics, as the official libraries use for nonces and prefixes."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """hex(SHA1(''.join(sorted([token, timestamp, nonce, encrypt])))) (§6.3 step 6)."""
    joined = "".join(sorted([token, str(timestamp), str(nonce), encrypt]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


class CallbackCrypto:
    """Encrypts, decrypts and signs callback messages for one (token, aes_key, owner key) (§6.3)."""

    def __init__(self, token: str, aes_key: str, owner_key: str) -> None:
        self.token = token
        self.key = aes_key_bytes(aes_key)
        self.owner_key = owner_key

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, random_prefix: str | None = None) -> str:
        """Base64 of AES-CBC(random16 ‖ len ‖ msg ‖ owner_key, 32-byte PKCS#7) (§6.3 steps 2-4)."""
        prefix = (random_prefix if random_prefix is not None else random_nonce(16)).encode()
        if len(prefix) != 16:
            raise CallbackCryptoError("the random prefix must be 16 bytes")
        body = message.encode("utf-8")
        raw = prefix + struct.pack(">I", len(body)) + body + self.owner_key.encode("utf-8")
        pad = BLOCK - len(raw) % BLOCK
        raw += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str, owner_key: str | None = None) -> str:
        """Decrypt and check padding, length and owner key; return the UTF-8 message (§6.3)."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionFailed() from None
        if not data or len(data) % 16:
            raise DecryptionFailed()
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise BadPadding()
        plain = plain[:-pad]
        if len(plain) < 20:
            raise LengthMismatch()
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise LengthMismatch()
        expected = self.owner_key if owner_key is None else owner_key
        if not hmac.compare_digest(plain[20 + length :], expected.encode("utf-8")):
            raise OwnerKeyMismatch()
        try:
            return plain[20 : 20 + length].decode("utf-8")
        except UnicodeDecodeError:
            raise LengthMismatch() from None

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The signature of an encrypted message with this token (§6.3 step 6)."""
        return sign(self.token, timestamp, nonce, encrypted)

    def check_signature(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        """Raise BadSignature unless `signature` matches (constant-time compare)."""
        expected = self.signature(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, (signature or "").lower()):
            raise BadSignature()

    def seal(
        self, message: str, timestamp: str | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """An encrypted, signed envelope `{msg_signature, timeStamp, nonce, encrypt}` (§6.2)."""
        ts = timestamp or str(int(time.time() * 1000))
        nc = nonce or random_nonce(8)
        encrypted = self.encrypt(message)
        return {
            "msg_signature": self.signature(ts, nc, encrypted),
            "timeStamp": ts,
            "nonce": nc,
            "encrypt": encrypted,
        }

    def open(self, envelope: Mapping[str, Any]) -> str:
        """Check and decrypt a `{msg_signature, timeStamp, nonce, encrypt}` envelope (§6.2)."""
        encrypted = str(envelope.get("encrypt") or "")
        self.check_signature(
            str(envelope.get("msg_signature") or envelope.get("signature") or ""),
            str(envelope.get("timeStamp") or envelope.get("timestamp") or ""),
            str(envelope.get("nonce") or ""),
            encrypted,
        )
        return self.decrypt(encrypted)


class ReplayCache:
    """A thread-safe in-process set of (timestamp, nonce) pairs, forgotten after `ttl` seconds."""

    def __init__(self, ttl: float = 600.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def check_and_add(self, timestamp: str, nonce: str, now: float) -> bool:
        """Remember the pair; False when it was already seen and not yet forgotten."""
        with self._lock:
            while self._seen:
                key, seen_at = next(iter(self._seen.items()))
                if now - seen_at < self.ttl and len(self._seen) < self.max_entries:
                    break
                self._seen.popitem(last=False)
            pair = (timestamp, nonce)
            if pair in self._seen:
                return False
            self._seen[pair] = now
            return True


_TIMESTAMP = re.compile(r"[0-9]{1,13}")


def valid_timestamp(value: str) -> bool:
    """ASCII digits, at most 13 (epoch milliseconds): `str.isdigit` also accepts "²" and
    thousands of digits, which made `int()` raise before the signature check (finding 15)."""
    return _TIMESTAMP.fullmatch(value) is not None


def timestamp_seconds(value: str) -> float:
    """A callback timestamp in seconds, accepting epoch milliseconds (13 digits) or seconds (10)."""
    if not valid_timestamp(value):
        raise StaleTimestamp()
    number = int(value)
    return number / 1000.0 if number > 10_000_000_000 else float(number)


def default_replay_cache(ttl: float) -> Any:
    """Inside an app, the store shared by every process (Redis or database); else in-process."""
    from flask import has_app_context

    if has_app_context():
        from idaas.replay import CallbackReplayCache

        return CallbackReplayCache(ttl)
    return ReplayCache(ttl=ttl)


class CallbackVerifier:
    """The receiving side of HTTP push: verify, de-duplicate, decrypt, and answer (§6.2, §6.3)."""

    def __init__(
        self,
        crypto: CallbackCrypto,
        window: float = 300.0,
        replay_cache: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.crypto = crypto
        self.window = window
        self.replay_cache = replay_cache or default_replay_cache(2 * window)
        self.clock = clock

    def open(self, query: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """Verify a push (either signature name, ms or s timestamp) and return the event JSON."""
        signature = str(query.get("msg_signature") or query.get("signature") or "")
        timestamp = str(query.get("timestamp") or query.get("timeStamp") or "")
        nonce = str(query.get("nonce") or "")
        encrypted = str(body.get("encrypt") or "")
        if not valid_timestamp(timestamp):
            raise StaleTimestamp()
        now = self.clock()
        if abs(now - timestamp_seconds(timestamp)) > self.window:
            raise StaleTimestamp()
        if not nonce:
            raise ReplayedCallback("the nonce is missing")
        self.crypto.check_signature(signature, timestamp, nonce, encrypted)
        message = self.crypto.decrypt(encrypted)
        if not self.replay_cache.check_and_add(timestamp, nonce, now):
            raise ReplayedCallback()
        try:
            event = json.loads(message)
        except ValueError:
            raise CallbackCryptoError("the decrypted message is not JSON") from None
        if not isinstance(event, dict):
            raise CallbackCryptoError("the decrypted message is not a JSON object")
        return event

    def reply(self, message: str = "success") -> dict[str, str]:
        """The encrypted acknowledgement DingTalk requires within 1.5 s (§6.2)."""
        return self.crypto.seal(message, str(int(self.clock() * 1000)))


def _first(event: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in event and event[name] is not None:
            return event[name]
    return None


def normalise_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """Both payload casings (§6.5) -> `{event_type, user_ids, dept_ids, timestamp, …}`."""
    stamp = _first(event, "TimeStamp", "timeStamp", "EventTime")
    return {
        "event_type": _first(event, "EventType", "eventType"),
        "user_ids": [str(u) for u in (_first(event, "UserId", "userId") or [])],
        "dept_ids": [int(d) for d in (_first(event, "DeptId", "deptId") or [])],
        "timestamp": int(stamp) if stamp is not None and str(stamp).isdigit() else None,
        "corp_id": _first(event, "CorpId", "corpId"),
        "operator": _first(event, "OptStaffId", "optStaffId"),
    }
