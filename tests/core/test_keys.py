from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from homeward.core.errors import ConfigurationError
from homeward.core.keys import load_keyring, new_keyring, rotated, write_key_file


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = new_keyring()
    write_key_file(path, ring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(env_value=None, path=path) == ring
    with pytest.raises(ConfigurationError, match="never overwritten"):
        write_key_file(path, new_keyring())
    assert load_keyring(env_value=None, path=path) == ring


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_key_file(path, new_keyring())
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_keyring(env_value=None, path=path)


def test_environment_takes_precedence_and_missing_file_is_none(tmp_path: Path) -> None:
    ring = new_keyring()
    assert load_keyring(env_value=None, path=tmp_path / "absent.json") is None
    assert load_keyring(env_value=ring.to_json(), path=tmp_path / "absent.json") == ring


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("index_key"), "lacks the entry 'index_key'"),
        (lambda d: d.update(active_data_key="d9"), "active data key 'd9'"),
        (lambda d: d["data_keys"].update(d1="c2hvcnQ="), "must be 32 bytes"),
        (lambda d: d.update(version=7), "not a Homeward key file"),
    ],
)
def test_broken_key_files_say_what_is_wrong(change, message: str) -> None:
    doc = json.loads(new_keyring().to_json())
    change(doc)
    with pytest.raises(ConfigurationError, match=message):
        load_keyring(env_value=json.dumps(doc), path=Path("/nonexistent"))


def test_rotation_adds_keys_and_keeps_old_ones() -> None:
    ring = rotated(rotated(new_keyring()))
    assert list(ring.data_keys) == ["d1", "d2", "d3"]
    assert ring.active_data_key == "d3"
    assert ring.active_audit_key == "a3"
