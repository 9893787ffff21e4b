"""The `homeward` command as a new user meets it: a real process, its output and exit status."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.own_database

ENV_KEYS = (
    "DATABASE_URL",
    "HOMEWARD_KEYS",
    "HOMEWARD_KEY_FILE",
    "HOMEWARD_ENV",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def run(args: list[str], var: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    environ.update({"HOMEWARD_VAR_DIR": str(var), "HOMEWARD_ENV": "development", **env})
    return subprocess.run(
        [sys.executable, "-m", "homeward.cli", *args], env=environ, capture_output=True, text=True, timeout=timeout
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_lists_homewards_commands(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for command in ("serve", "worker", "keys init", "audit verify", "staff", "jobs watch", "gazetteer import"):
        assert command in result.stdout


def test_keys_init_creates_a_private_file_once(tmp_path: Path) -> None:
    first = run(["keys", "init"], tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "keys.json"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    before = key_file.read_text()
    second = run(["keys", "init"], tmp_path)
    assert second.returncode == 2
    assert "already exists" in one_clear_line(second)
    assert key_file.read_text() == before
    assert run(["keys", "init", "--if-missing"], tmp_path).returncode == 0
    shown = run(["keys", "show"], tmp_path)
    assert "active d1" in shown.stdout
    assert json.loads(before)["data_keys"]["d1"] not in shown.stdout


def test_missing_key_file_is_one_clear_line(tmp_path: Path) -> None:
    result = run(["migrate"], tmp_path)
    assert result.returncode == 2
    line = one_clear_line(result)
    assert "homeward keys init" in line
    assert str(tmp_path / "keys.json") in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:p@127.0.0.1/x", "Homeward runs on SQLite or PostgreSQL"),
        ("not a url", "DATABASE_URL"),
        ("postgres://nobody:wrong@127.0.0.1:1/none", "the database cannot be used"),
    ],
)
def test_wrong_database_url_is_one_clear_line(tmp_path: Path, url: str, expected: str) -> None:
    run(["keys", "init"], tmp_path)
    result = run(["migrate"], tmp_path, DATABASE_URL=url)
    assert result.returncode == 2
    assert expected in one_clear_line(result)


def test_unwritable_data_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = run(["migrate"], Path("/proc/homeward-cannot-be-here"))
    assert result.returncode == 2
    line = one_clear_line(result)
    assert "not writable" in line
    assert "HOMEWARD_VAR_DIR" in line


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    run(["keys", "init"], tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(["serve", "--port", str(port)], tmp_path)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_settings_pass_the_deploy_check_with_no_warning(tmp_path: Path) -> None:
    run(["keys", "init"], tmp_path)
    result = run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        HOMEWARD_ENV="production",
        HOMEWARD_ALLOWED_HOSTS="homeward.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_demo_serves_the_app_and_the_worker_until_interrupted(tmp_path: Path) -> None:
    assert run(["keys", "init"], tmp_path).returncode == 0
    migrate = run(["migrate", "--noinput"], tmp_path, timeout=300)
    assert migrate.returncode == 0, migrate.stderr
    demo = run(["demo"], tmp_path, timeout=600)  # imports, links and counts a community of 20,000
    assert demo.returncode == 0, demo.stderr
    assert "password:" in demo.stdout
    assert "demo census: snapshot of" in demo.stdout
    assert "demo information sheet: version 2026-1 in en, az, ru" in demo.stdout
    assert "demo plan: " in demo.stdout
    assert "demo portal: 40 self-registrations from 2 campaigns" in demo.stdout
    plan_files = [str(tmp_path / "demo-plan" / name) for name in ("instance.json", "solution.json")]
    checked = run(["plan", "check", *plan_files], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "valid: objective" in checked.stdout
    # The planning scenarios: one from the demo census and its what-if copy, both solved and comparable.
    assert "demo scenarios: 'Return plan (demo)' places " in demo.stdout
    compared = run(["planning", "compare", "1", "2"], tmp_path)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "persons placed:" in compared.stdout
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    environ.update({"HOMEWARD_VAR_DIR": str(tmp_path), "HOMEWARD_ENV": "development"})
    server = subprocess.Popen(
        [sys.executable, "-m", "homeward.cli", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        body = ""
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert json.loads(body) == {"status": "ok"}
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
        assert login.status == 200
        # The public portal opens without an account, with the demo's published information sheet.
        portal = urllib.request.urlopen(f"http://127.0.0.1:{port}/portal/", timeout=5)
        assert portal.status == 200
        assert "version 2026-1" in portal.read().decode()
        # The worker started with the server runs the audit check queued by the demo.
        listing = ""
        for _ in range(60):
            listing = run(["jobs", "list"], tmp_path).stdout
            if "succeeded" in listing:
                break
            time.sleep(0.5)
        assert "succeeded" in listing
    finally:
        os.killpg(server.pid, signal.SIGINT)
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    assert "Homeward stopped." in output
