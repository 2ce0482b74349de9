"""Packaging: the locks in requirements/ agree with setup.cfg and with each other, every pin has
hashes, and the built wheel carries the browser board and the migrations (ADR 0030)."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from realtime.settings import Settings
from tests.support import JWT_SECRET

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"runtime": [], "embedded": ["embedded"], "dev": ["embedded", "dev"]}
# The platform the locks are installed on: the image (Debian bookworm) and the CI machine.
ENVIRONMENT = {
    "python_version": "3.11",
    "python_full_version": "3.11.2",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def _requirements(extras: list[str]) -> list[Requirement]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    declared = config["options.extras_require"]
    for extra in extras:
        lines += [line for line in declared[extra].splitlines() if not line.startswith("%(")]
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def _lock(name: str) -> dict[str, tuple[str, int]]:
    """Package -> (version, number of hashes), for the pins that apply to ENVIRONMENT."""
    pins: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in (ROOT / "requirements" / f"{name}.txt").read_text().splitlines():
        if match := PIN.match(line):
            package, version, marker = match.groups()
            applies = marker is None or Marker(marker).evaluate(ENVIRONMENT)
            current = canonicalize_name(package) if applies else None
            if current is not None:
                pins[current] = (version, 0)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


@pytest.mark.parametrize("name", LOCKS)
def test_every_requirement_of_setup_cfg_is_locked_to_a_version_it_allows(name):
    pins = _lock(name)
    for requirement in _requirements(LOCKS[name]):
        package = canonicalize_name(requirement.name)
        assert package in pins, f"{requirement} is not in requirements/{name}.txt: scripts/lock"
        version, _ = pins[package]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements/{name}.txt pins {package}=={version}, setup.cfg asks {requirement}: "
            "run scripts/lock"
        )


@pytest.mark.parametrize("name", LOCKS)
def test_every_pin_carries_hashes(name):
    pins = _lock(name)
    assert pins
    assert [package for package, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_locks_agree_on_every_package_they_share():
    dev = _lock("dev")
    for name in ("runtime", "embedded"):
        smaller = _lock(name)
        assert set(smaller) <= set(dev), f"{name} has packages the dev lock lacks"
        assert {p: v for p, (v, _) in smaller.items()} == {p: dev[p][0] for p in smaller}


def test_the_wheel_carries_the_browser_board_and_the_migrations(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("boardroom-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for board_file in ("index.html", "app.js", "styles.css", "vendor/socket.io.min.js"):
        assert f"static_client/{board_file}" in names
    assert "persistence/migrations/0001_initial.sql" in names
    # Tooling of the board's source tree stays out of the package.
    assert not {n for n in names if n.endswith(("package.json", ".sh", "README.md"))}


def test_the_default_board_is_the_installed_package_s(monkeypatch):
    monkeypatch.delenv("BOARDROOM_STATIC_DIR", raising=False)
    settings = Settings(jwt_secret=JWT_SECRET)
    assert (settings.static_dir / "index.html").is_file()
    assert settings.static_dir.name == "static_client"
