"""Puts uv into .tools/bin when the machine has none, with nothing but Python's standard library.

First tries a virtual environment with pip; where Python has no ensurepip (Debian without python3-venv),
downloads uv's wheel for this platform from PyPI, checks its sha256 against PyPI's record, and unpacks
the uv binary.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / ".tools"
UV = TOOLS / "bin" / "uv"
PLATFORM_TAGS = {
    ("Linux", "x86_64"): "manylinux",
    ("Linux", "aarch64"): "manylinux",
    ("Darwin", "x86_64"): "macosx",
    ("Darwin", "arm64"): "macosx",
}


def via_pip() -> bool:
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True, capture_output=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "--quiet", "uv>=0.5"], check=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    return UV.exists()


def via_wheel() -> None:
    system, machine = platform.system(), platform.machine()
    family = PLATFORM_TAGS.get((system, machine))
    if family is None:
        sys.exit(f"bootstrap-uv: no uv wheel for {system} {machine}; install uv yourself (pip install uv)")
    index = "https://pypi.org/pypi/uv/json"
    with urllib.request.urlopen(index, timeout=60) as response:
        release = json.load(response)
    wheels = [
        f for f in release["urls"]
        if f["filename"].endswith(".whl") and family in f["filename"] and machine in f["filename"]
        and "musllinux" not in f["filename"]
    ]  # fmt: skip
    if not wheels:
        sys.exit(f"bootstrap-uv: PyPI has no uv wheel for {system} {machine}")
    wheel = wheels[0]
    url = urllib.parse.urljoin(index, wheel["url"])  # some mirrors give addresses relative to the index
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310
        data = response.read()
    if hashlib.sha256(data).hexdigest() != wheel["digests"]["sha256"]:
        sys.exit("bootstrap-uv: the downloaded uv wheel does not match PyPI's checksum")
    (TOOLS / "bin").mkdir(parents=True, exist_ok=True)
    archive = TOOLS / wheel["filename"]
    archive.write_bytes(data)
    with zipfile.ZipFile(archive) as zf:
        member = next(n for n in zf.namelist() if n.endswith("/scripts/uv"))
        UV.write_bytes(zf.read(member))
    archive.unlink()
    os.chmod(UV, 0o700)


if __name__ == "__main__":
    if not UV.exists() and not via_pip():
        via_wheel()
    sys.stdout.write(f"uv: {UV}\n")
