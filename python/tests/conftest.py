"""Fixtures of the padan package tests: the repository, the CLI binary, a scratch directory.

The CLI is ``$PADAN_BIN`` (``tests/cli/python_package.rs`` sets it to the binary cargo built),
else ``target/release/padan`` or ``target/debug/padan``. Without one the comparisons with the CLI
are skipped, except when ``CI`` is set, where they fail.
"""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
KEY = FIXTURES / "test.key"
AGENCIES = ["bp2mi", "imigrasi", "kejaksaan", "kemensos", "kemlu", "kpppa", "polri"]


def _padan_bin() -> str | None:
    env = os.environ.get("PADAN_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = REPO / "target" / profile / "padan"
        if p.is_file():
            return str(p)
    return None


@pytest.fixture(scope="session")
def padan_bin() -> str:
    b = _padan_bin()
    if b is None:
        msg = "no padan binary: set PADAN_BIN or build it (cargo build)"
        if os.environ.get("CI"):
            pytest.fail(msg + "; CI is set, so the comparison with the CLI must run")
        pytest.skip(msg)
    return b


class Cli:
    def __init__(self, binary: str):
        self.binary = binary

    def __call__(self, *args, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run(
            [self.binary, *map(str, args)], capture_output=True, text=True, cwd=REPO
        )
        if check and p.returncode != 0:
            raise AssertionError(f"padan {' '.join(map(str, args))} failed:\n{p.stderr}")
        return p


@pytest.fixture(scope="session")
def cli(padan_bin) -> Cli:
    return Cli(padan_bin)


@pytest.fixture
def in_repo(monkeypatch):
    """Run with the repository root as the current directory (the doc examples' paths)."""
    monkeypatch.chdir(REPO)
    return REPO


def synth(agency: str) -> tuple[pathlib.Path, pathlib.Path]:
    """An agency's synthetic extract and column map."""
    return FIXTURES / "synth" / f"{agency}.csv", FIXTURES / "synth" / f"{agency}.columns.toml"
