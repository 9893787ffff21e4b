"""The key file: the secrets that must never be in the database or the repository.

A key file is JSON, readable only by its owner, holding the Django secret key,
the data-encryption keys (AES-256-GCM, by key id, one active), the blind-index
key and the audit-chain keys (HMAC-SHA256, by key id, one active). The same
JSON may instead come from the environment variable ``HOMEWARD_KEYS``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homeward.core.errors import ConfigurationError

KEY_FILE_VERSION = 1


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


def _keys(name: str, value: Any) -> dict[str, bytes]:
    if not isinstance(value, dict) or not value:
        raise ConfigurationError(f"key file: {name} must be an object of key id to key")
    for key_id in value:
        if not _KEY_ID.match(str(key_id)):
            raise ConfigurationError(f"key file: {name} id {key_id!r} must be 1-16 letters, digits, _ or -")
    return {str(k): _decode_key(f"{name} {k}", v) for k, v in value.items()}


def _decode_key(name: str, value: Any) -> bytes:
    try:
        raw = base64.b64decode(str(value), validate=True)
    except ValueError as exc:
        raise ConfigurationError(f"key file: {name} is not valid base64") from exc
    if len(raw) != 32:
        raise ConfigurationError(f"key file: {name} must be 32 bytes, found {len(raw)}")
    return raw


@dataclass(frozen=True)
class KeyRing:
    secret_key: str
    data_keys: dict[str, bytes]
    active_data_key: str
    index_key: bytes
    audit_keys: dict[str, bytes]
    active_audit_key: str
    source: str = field(default="", compare=False)

    @classmethod
    def from_json(cls, text: str, *, source: str) -> KeyRing:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{source} is not valid JSON (line {exc.lineno})") from exc
        if not isinstance(doc, dict) or doc.get("version") != KEY_FILE_VERSION:
            raise ConfigurationError(f"{source} is not a Homeward key file of version {KEY_FILE_VERSION}")
        try:
            data_keys = _keys("data key", doc["data_keys"])
            audit_keys = _keys("audit key", doc["audit_keys"])
            ring = cls(
                secret_key=str(doc["secret_key"]),
                data_keys=data_keys,
                active_data_key=str(doc["active_data_key"]),
                index_key=_decode_key("index key", doc["index_key"]),
                audit_keys=audit_keys,
                active_audit_key=str(doc["active_audit_key"]),
                source=source,
            )
        except KeyError as exc:
            raise ConfigurationError(f"{source} lacks the entry {exc.args[0]!r}") from exc
        if ring.active_data_key not in ring.data_keys:
            raise ConfigurationError(f"{source}: active data key {ring.active_data_key!r} is not in data_keys")
        if ring.active_audit_key not in ring.audit_keys:
            raise ConfigurationError(f"{source}: active audit key {ring.active_audit_key!r} is not in audit_keys")
        if len(ring.secret_key) < 50:
            raise ConfigurationError(f"{source}: secret_key must be at least 50 characters")
        return ring

    def to_json(self) -> str:
        def enc(raw: bytes) -> str:
            return base64.b64encode(raw).decode("ascii")

        doc = {
            "version": KEY_FILE_VERSION,
            "secret_key": self.secret_key,
            "data_keys": {k: enc(v) for k, v in self.data_keys.items()},
            "active_data_key": self.active_data_key,
            "index_key": enc(self.index_key),
            "audit_keys": {k: enc(v) for k, v in self.audit_keys.items()},
            "active_audit_key": self.active_audit_key,
        }
        return json.dumps(doc, indent=2) + "\n"


def new_keyring() -> KeyRing:
    return KeyRing.from_json(
        json.dumps(
            {
                "version": KEY_FILE_VERSION,
                "secret_key": secrets.token_urlsafe(64),
                "data_keys": {"d1": _new_key()},
                "active_data_key": "d1",
                "index_key": _new_key(),
                "audit_keys": {"a1": _new_key()},
                "active_audit_key": "a1",
            }
        ),
        source="new key ring",
    )


def _next_id(prefix: str, existing: dict[str, bytes]) -> str:
    numbers = [int(k[len(prefix) :]) for k in existing if k.startswith(prefix) and k[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def rotated(ring: KeyRing) -> KeyRing:
    """A key ring with a new active data key and audit key; old keys stay for reading."""
    data_id = _next_id("d", ring.data_keys)
    audit_id = _next_id("a", ring.audit_keys)
    return KeyRing(
        secret_key=ring.secret_key,
        data_keys={**ring.data_keys, data_id: base64.b64decode(_new_key())},
        active_data_key=data_id,
        index_key=ring.index_key,
        audit_keys={**ring.audit_keys, audit_id: base64.b64decode(_new_key())},
        active_audit_key=audit_id,
        source=ring.source,
    )


def write_key_file(path: Path, ring: KeyRing, *, overwrite: bool = False) -> None:
    """Write the key file readable by its owner only; never replaces one unless asked."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(ring.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the file exists, so two `keys init` at once cannot replace each other's keys.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise ConfigurationError(f"key file {path} already exists; it is never overwritten") from None
    finally:
        tmp.unlink(missing_ok=True)


def load_keyring(*, env_value: str | None, path: Path) -> KeyRing | None:
    """The key ring from the environment, else from the key file; None when neither exists."""
    if env_value:
        return KeyRing.from_json(env_value, source="HOMEWARD_KEYS")
    if not path.exists():
        return None
    try:
        mode = path.stat().st_mode & 0o077
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read key file {path}: {exc.strerror}") from exc
    if mode:
        raise ConfigurationError(f"key file {path} is readable by others; run: chmod 600 {path}")
    return KeyRing.from_json(text, source=f"key file {path}")
