from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner, Result

from gateway.auth import TokenVerifier
from gateway.cli import SettingsContext
from gateway.commands.tokens import command
from gateway.config import load_settings
from integrations.access.principal import Principal, Role

pytestmark = pytest.mark.usefixtures("clean_environ")


def run(data_dir: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        command,
        list(args),
        obj=SettingsContext(None),
        env={"GATEWAY_DATA_DIR": str(data_dir), **env},
    )


async def _verify(data_dir: Path, token: str) -> Principal:
    settings = load_settings(environ={}, data_dir=str(data_dir))
    async with aiohttp.ClientSession() as session:
        return await TokenVerifier.from_settings(settings, session).verify(token)


@pytest.mark.parametrize(
    ("args", "role"),
    [
        pytest.param(["citizen", "079301000123", "--loa", "2"], Role.CITIZEN, id="citizen"),
        pytest.param(["app", "u-1", "--app-id", "budget"], Role.APP, id="app"),
        pytest.param(["merchant", "m-1", "--tax-code", "0100109106"], Role.MERCHANT, id="merchant"),
        pytest.param(["merchant", "0100109106"], Role.MERCHANT, id="merchant-by-tax-code"),
        pytest.param(["officer", "off-1", "--scope", "read:phone"], Role.OFFICER, id="officer"),
        pytest.param(["admin", "root"], Role.ADMIN, id="admin"),
    ],
)
def test_a_printed_token_verifies_as_its_role(tmp_path: Path, args: list[str], role: Role) -> None:
    result = run(tmp_path, *args)
    assert result.exit_code == 0, result.output
    principal = asyncio.run(_verify(tmp_path, result.output.strip()))
    assert principal.role is role
    assert principal.subject == args[1]
    if role is Role.MERCHANT:
        assert principal.tax_code == "0100109106"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["citizen", "12345"], "Invalid value for SUBJECT", id="citizen-bad-id"),
        pytest.param(["merchant", "m-1"], "Invalid value for SUBJECT", id="merchant-bad-subject"),
        pytest.param(
            ["merchant", "m-1", "--tax-code", "123"],
            "Invalid value for --tax-code",
            id="bad-tax-code",
        ),
        pytest.param(["app", "u-1"], "needs --app-id", id="app-without-id"),
        pytest.param(["king", "x"], "Invalid value", id="unknown-role"),
    ],
)
def test_incomplete_tokens_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_no_demo_tokens_when_real_keys_are_configured(tmp_path: Path) -> None:
    result = run(tmp_path, "admin", "root", GATEWAY_JWKS_URL="https://id.example/jwks")
    assert result.exit_code == 2
    assert "only accepted with the demo keys" in result.output
