"""Stored files (uploads waiting for a job, exports): always encrypted at rest under the var folder."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from homeward.core.crypto import decrypt_stream, encrypt_stream
from homeward.core.errors import NotFoundError


def _root() -> Path:
    return Path(settings.VAR_DIR) / "files"


def store_encrypted(raw: bytes, *, folder: str) -> str:
    """Seal the bytes into a new file; returns its name relative to the files folder."""
    return store_encrypted_stream(io.BytesIO(raw), folder=folder)


def store_encrypted_stream(src: BinaryIO, *, folder: str) -> str:
    """Seal a (possibly large) file object into a new stored file without holding it in memory."""
    target = _root() / folder
    target.mkdir(parents=True, exist_ok=True)
    name = f"{folder}/{secrets.token_hex(16)}.hwf"
    path = _root() / name
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        encrypt_stream(src, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return name


@contextmanager
def decrypted_copy(name: str, *, suffix: str = "") -> Iterator[Path]:
    """A plaintext copy of a stored file for a reader that needs a path; removed when the block ends."""
    path = (_root() / name).resolve()
    if _root().resolve() not in path.parents or not path.exists():
        raise NotFoundError("stored file not found")
    work = _root() / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    plain = work / f"{secrets.token_hex(16)}{suffix}"
    try:
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(path, "rb") as src, os.fdopen(fd, "wb") as out:
            decrypt_stream(src, out)
        yield plain
    finally:
        plain.unlink(missing_ok=True)


def read_encrypted(name: str) -> bytes:
    path = (_root() / name).resolve()
    if _root().resolve() not in path.parents or not path.exists():
        raise NotFoundError("stored file not found")
    out = io.BytesIO()
    with open(path, "rb") as src:
        decrypt_stream(src, out)
    return out.getvalue()


def remove_stored(name: str) -> None:
    path = (_root() / name).resolve()
    if _root().resolve() in path.parents:
        path.unlink(missing_ok=True)
