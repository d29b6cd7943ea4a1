from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gateway.cli import main
from tests.support.servers import free_port

pytestmark = pytest.mark.usefixtures("clean_environ")


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("gateway, version ")


def test_a_commands_module_is_imported_only_when_that_command_is_asked_for() -> None:
    """Each worker of ``gateway serve`` starts from the command line too."""
    code = (
        "import sys; from gateway.cli import main; from click.testing import CliRunner; "
        "CliRunner().invoke(main, ['token', '--help']); "
        "print(sorted(m for m in sys.modules if m.startswith('gateway.commands.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['gateway.commands.tokens']"


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:", 1)[1].splitlines()[1:]]
    assert listed == [
        "audit", "demo", "invoice", "merchants", "migrate", "partitions", "pki", "serve",
        "simulators", "token",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["frobnicate"], id="unknown-command"),
        pytest.param(["serve", "--prot", "1"], id="unknown-flag"),
        pytest.param(["serve", "--port", "eighty"], id="bad-flag-value"),
    ],
)
def test_bad_command_or_flag_prints_usage_and_fails(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Usage:" in result.output


def test_bad_setting_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_LOG_LEVEL", "loud")
    result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 2
    assert "GATEWAY_LOG_LEVEL='loud' is not allowed: expected one of debug" in result.output


def test_migrate_creates_the_sqlite_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["migrate"], env={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "gateway.sqlite3").exists()
    again = CliRunner().invoke(main, ["migrate"], env={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert again.exit_code == 0
    assert "up to date" in again.output


def test_serve_runs_workers_that_answer_http(migrated_data_dir: Path) -> None:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(migrated_data_dir)}
    gateway = [sys.executable, "-m", "gateway"]
    port = free_port()
    process = subprocess.Popen(
        [*gateway, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/readyz")
        assert response.status_code == 200
        assert response.json()["checks"]["database"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert '"message":"request"' in output


def _wait_for(url: str) -> httpx.Response:
    # Two workers each import the whole gateway: about 12 s on a loaded 2-core machine.
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
