from __future__ import annotations

import io
import os
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeward.core import crypto
from homeward.core.crypto import blind_index, decrypt_stream, decrypt_value, encrypt_stream, encrypt_value
from homeward.core.errors import CryptoError
from homeward.core.keys import new_keyring, rotated

RING = new_keyring()
OTHER = new_keyring()


@given(st.text())
def test_values_round_trip_for_any_text(text: str) -> None:
    token = encrypt_value(text, context="registry.person.phone", ring=RING)
    assert decrypt_value(token, context="registry.person.phone", ring=RING) == text


def test_ciphertext_hides_the_value_and_differs_each_time() -> None:
    first = encrypt_value("+994 50 123 45 67", context="c", ring=RING)
    second = encrypt_value("+994 50 123 45 67", context="c", ring=RING)
    assert first != second
    assert "123" not in first
    assert first.startswith(f"hw1:{RING.active_data_key}:")


def test_wrong_key_fails_loudly() -> None:
    token = encrypt_value("secret", context="c", ring=RING)
    # Same key id, different key material: the tag check must fail.
    with pytest.raises(CryptoError, match="wrong key"):
        decrypt_value(token, context="c", ring=OTHER)


def test_value_moved_to_another_field_does_not_decrypt() -> None:
    token = encrypt_value("secret", context="registry.person.phone", ring=RING)
    with pytest.raises(CryptoError):
        decrypt_value(token, context="registry.person.document_number", ring=RING)


def test_altered_ciphertext_fails() -> None:
    token = encrypt_value("secret value", context="c", ring=RING)
    head, body = token.rsplit(":", 1)
    flipped = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]
    with pytest.raises(CryptoError):
        decrypt_value(f"{head}:{flipped}", context="c", ring=RING)


def test_unknown_key_id_is_named() -> None:
    token = encrypt_value("x", context="c", ring=rotated(RING))
    with pytest.raises(CryptoError, match="'d2'"):
        decrypt_value(token, context="c", ring=RING)


def test_rotation_keeps_old_values_readable_and_encrypts_with_the_new_key() -> None:
    old = encrypt_value("before rotation", context="c", ring=RING)
    ring2 = rotated(RING)
    assert decrypt_value(old, context="c", ring=ring2) == "before rotation"
    assert encrypt_value("after", context="c", ring=ring2).startswith("hw1:d2:")


def test_blind_index_is_deterministic_and_keyed() -> None:
    a = blind_index("AB1234567", context="doc", ring=RING)
    assert a == blind_index("AB1234567", context="doc", ring=RING)
    assert a != blind_index("AB1234568", context="doc", ring=RING)
    assert a != blind_index("AB1234567", context="doc", ring=OTHER)
    assert a != blind_index("AB1234567", context="phone", ring=RING)


@pytest.mark.parametrize("size", [0, 1, 1000, 3 * 1024 + 7])
def test_files_round_trip_across_chunks(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(crypto, "FILE_CHUNK", 1024)
    data = os.urandom(size)
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(data), sealed, ring=RING)
    if size >= 64:
        assert data[:64] not in sealed.getvalue()
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed.getvalue()), out, ring=RING)
    assert out.getvalue() == data


def test_truncated_file_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "FILE_CHUNK", 1024)
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(os.urandom(4000)), sealed, ring=RING)
    raw = sealed.getvalue()
    # Cut off the last chunk entirely: the chunk before it was not sealed as the last one.
    last_chunk = 12 + 4 + (4000 - 3 * 1024) + 16
    with pytest.raises(CryptoError):
        decrypt_stream(io.BytesIO(raw[:-last_chunk]), io.BytesIO(), ring=RING)


def test_file_with_wrong_key_fails() -> None:
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(b"document scan"), sealed, ring=RING)
    with pytest.raises(CryptoError, match="failed at chunk 0"):
        decrypt_stream(io.BytesIO(sealed.getvalue()), io.BytesIO(), ring=OTHER)


def _sealed(data: bytes) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, ring=RING)
    return out.getvalue()


def _chunks(raw: bytes) -> tuple[bytes, list[bytes]]:
    header_len = 4 + 2 + len(RING.active_data_key) + crypto.FILE_ID_BYTES
    header, rest, chunks = raw[:header_len], raw[header_len:], []
    while rest:
        length = int.from_bytes(rest[12:16], "big")
        chunks.append(rest[: 16 + length])
        rest = rest[16 + length :]
    return header, chunks


@pytest.mark.parametrize("attack", ["swap", "drop-middle", "splice", "trailing", "header"])
def test_files_resist_chunk_attacks(monkeypatch: pytest.MonkeyPatch, attack: str) -> None:
    monkeypatch.setattr(crypto, "FILE_CHUNK", 64)
    header, chunks = _chunks(_sealed(os.urandom(64 * 3 + 10)))
    _other_header, other_chunks = _chunks(_sealed(os.urandom(64 * 3 + 10)))
    forged = {
        "swap": header + chunks[1] + chunks[0] + chunks[2] + chunks[3],
        "drop-middle": header + chunks[0] + chunks[2] + chunks[3],
        "splice": header + chunks[0] + other_chunks[1] + chunks[2] + chunks[3],
        "trailing": header + b"".join(chunks) + b"x" * 20,
        "header": header[:-1] + bytes([header[-1] ^ 1]) + b"".join(chunks),
    }[attack]
    with pytest.raises(CryptoError):
        decrypt_stream(io.BytesIO(forged), io.BytesIO(), ring=RING)


def test_damaged_header_is_a_crypto_error() -> None:
    for raw in (b"HWF1", b"HWF1\x00\x05d1", b"HWF1\xff\xff"):
        with pytest.raises(CryptoError):
            decrypt_stream(io.BytesIO(raw), io.BytesIO(), ring=RING)


def test_real_files_round_trip(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "FILE_CHUNK", 1000)
    data = os.urandom(5555)
    with open(tmp_path / "plain", "wb") as fh:
        fh.write(data)
    with open(tmp_path / "plain", "rb") as src, open(tmp_path / "sealed", "wb") as dst:
        encrypt_stream(src, dst, ring=RING)
    out = io.BytesIO()
    with open(tmp_path / "sealed", "rb") as src:
        decrypt_stream(src, out, ring=RING)
    assert out.getvalue() == data
