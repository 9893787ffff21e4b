"""Encryption of the most sensitive values and of stored files, and blind indexes.

Values: AES-256-GCM with a random 96-bit nonce; the token is
``hw1:<key id>:<base64url(nonce + ciphertext + tag)>`` and the field's context
(for example ``registry.person.phone``) is bound as associated data, so a
ciphertext copied into another field does not decrypt.

Files: a stream of AES-256-GCM chunks, each sealed with the chunk number and a
last-chunk flag as associated data, so chunks cannot be reordered, dropped or
cut off without the decryption failing.

Blind index: HMAC-SHA256 of the normalised value under the index key, for
exact look-ups of encrypted values without decrypting them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from homeward.core.errors import ConfigurationError, CryptoError
from homeward.core.keys import KeyRing

TOKEN_PREFIX = "hw1"  # noqa: S105 - a format tag, not a secret
FILE_MAGIC = b"HWF1"
FILE_CHUNK = 1 << 20
NONCE_BYTES = 12
FILE_ID_BYTES = 16


def current_keyring() -> KeyRing:
    from django.conf import settings

    ring = getattr(settings, "HOMEWARD_KEYRING", None)
    if ring is None:
        raise ConfigurationError("no keys are configured: run `homeward keys init` or set HOMEWARD_KEYS")
    assert isinstance(ring, KeyRing)
    return ring


def encrypt_value(plaintext: str, *, context: str, ring: KeyRing | None = None) -> str:
    ring = ring or current_keyring()
    key_id = ring.active_data_key
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.data_keys[key_id]).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{TOKEN_PREFIX}:{key_id}:{body}"


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX + ":")


def token_key_id(token: str) -> str:
    parts = token.split(":", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise CryptoError("not an encrypted value")
    return parts[1]


def decrypt_value(token: str, *, context: str, ring: KeyRing | None = None) -> str:
    ring = ring or current_keyring()
    key_id = token_key_id(token)
    key = ring.data_keys.get(key_id)
    if key is None:
        raise CryptoError(f"the value was encrypted with key {key_id!r}, which is not in the key ring")
    try:
        raw = base64.urlsafe_b64decode(token.split(":", 2)[2])
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
    except (InvalidTag, ValueError) as exc:
        raise CryptoError(
            f"decryption with key {key_id!r} failed: wrong key, altered value or wrong field ({context})"
        ) from exc
    return plain.decode("utf-8")


def blind_index(value: str, *, context: str, ring: KeyRing | None = None) -> str:
    """Keyed hash of the value for exact look-ups; callers normalise the value first."""
    ring = ring or current_keyring()
    msg = context.encode("utf-8") + b"\x00" + value.encode("utf-8")
    return hmac.new(ring.index_key, msg, hashlib.sha256).hexdigest()


def _chunk_aad(header: bytes, index: int, last: bool) -> bytes:
    # The header (format, key id and the file's random id) is bound into every chunk, so chunks cannot be
    # moved between files, reordered, dropped or cut off, and the header cannot be altered.
    return header + struct.pack(">QB", index, 1 if last else 0)


def _read_chunks(src: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    current = src.read(size)
    while True:
        following = src.read(size)
        yield current, not following
        if not following:
            return
        current = following


def encrypt_stream(src: BinaryIO, dst: BinaryIO, *, ring: KeyRing | None = None) -> None:
    ring = ring or current_keyring()
    key_id = ring.active_data_key.encode("utf-8")
    aead = AESGCM(ring.data_keys[ring.active_data_key])
    header = FILE_MAGIC + struct.pack(">H", len(key_id)) + key_id + os.urandom(FILE_ID_BYTES)
    dst.write(header)
    for index, (chunk, last) in enumerate(_read_chunks(src, FILE_CHUNK)):
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(nonce, chunk, _chunk_aad(header, index, last))
        dst.write(nonce + struct.pack(">I", len(sealed)) + sealed)


def decrypt_stream(src: BinaryIO, dst: BinaryIO, *, ring: KeyRing | None = None) -> None:
    """Decrypt into ``dst``; on a CryptoError ``dst`` holds a partial result that must be thrown away."""
    ring = ring or current_keyring()
    try:
        magic = src.read(4)
        if magic != FILE_MAGIC:
            raise CryptoError("not a Homeward encrypted file")
        raw_len = src.read(2)
        (id_len,) = struct.unpack(">H", raw_len)
        raw_id = src.read(id_len)
        key_id = raw_id.decode("utf-8")
        file_id = src.read(FILE_ID_BYTES)
    except (struct.error, UnicodeDecodeError) as exc:
        raise CryptoError("the encrypted file's header is damaged") from exc
    if len(raw_id) != id_len or len(file_id) != FILE_ID_BYTES:
        raise CryptoError("the encrypted file's header is damaged")
    header = magic + raw_len + raw_id + file_id
    key = ring.data_keys.get(key_id)
    if key is None:
        raise CryptoError(f"the file was encrypted with key {key_id!r}, which is not in the key ring")
    aead = AESGCM(key)
    index = 0
    while True:
        head = src.read(NONCE_BYTES + 4)
        if not head:
            raise CryptoError("encrypted file is truncated: its last chunk is missing")
        if len(head) < NONCE_BYTES + 4:
            raise CryptoError("encrypted file is truncated")
        (length,) = struct.unpack(">I", head[NONCE_BYTES:])
        if length > FILE_CHUNK + 16:
            raise CryptoError(f"encrypted file is damaged at chunk {index}")
        sealed = src.read(length)
        last = _at_end(src)
        try:
            dst.write(aead.decrypt(head[:NONCE_BYTES], sealed, _chunk_aad(header, index, last)))
        except InvalidTag as exc:
            raise CryptoError(f"file decryption with key {key_id!r} failed at chunk {index}") from exc
        if last:
            return
        index += 1


def _at_end(src: BinaryIO) -> bool:
    peek = getattr(src, "peek", None)
    if peek is not None:
        return not peek(1)
    pos = src.tell()
    more = src.read(1)
    src.seek(pos)
    return not more
