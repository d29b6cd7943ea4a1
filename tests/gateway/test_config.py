from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, describe, load_settings


def test_defaults_use_a_sqlite_file_in_the_data_folder() -> None:
    settings = load_settings(environ={})
    assert settings.database_url == ""
    assert settings.resolved_database_url.startswith("sqlite://")
    assert settings.resolved_database_url.endswith("data/gateway.sqlite3")


def test_environment_overrides_file_which_overrides_default(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('port = 9100\nlog_level = "debug"\n')
    settings = load_settings(environ={"GATEWAY_PORT": "9200"}, config_file=config)
    assert settings.port == 9200
    assert settings.log_level == "debug"


def test_postgres_url_selects_postgres() -> None:
    settings = load_settings(environ={"GATEWAY_DATABASE_URL": "postgres://u@db:5432/gw"})
    assert settings.resolved_database_url == "postgres://u@db:5432/gw"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("GATEWAY_PORT", "eighty", "a whole number from 1 to 65535", id="port-text"),
        pytest.param("GATEWAY_PORT", "70000", "a whole number from 1 to 65535", id="port-range"),
        pytest.param("GATEWAY_MODE", "prod", "one of demo, development, production", id="mode"),
        pytest.param("GATEWAY_ALLOW_SHA1", "maybe", "true or false", id="bool"),
        pytest.param(
            "GATEWAY_DATABASE_URL",
            "mysql://x/y",
            "sqlite:// or postgres:// or postgresql://",
            id="database-scheme",
        ),
    ],
)
def test_bad_value_names_the_setting_and_what_is_allowed(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={name: value})
    assert name in str(info.value)
    assert expected in str(info.value)


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"GATEWAY_PORT": "x", "GATEWAY_WORKERS": "0"})
    assert "GATEWAY_PORT" in str(info.value)
    assert "GATEWAY_WORKERS" in str(info.value)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("prot = 80\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(environ={}, config_file=config)


def test_missing_or_broken_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"GATEWAY_CONFIG": str(tmp_path / "none.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={}, config_file=broken)


def test_signing_key_needs_its_certificate() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_SIGNING_KEY and GATEWAY_SIGNING_CERT"):
        load_settings(environ={"GATEWAY_SIGNING_KEY": "key.pem"})


def test_secrets_stay_out_of_repr() -> None:
    settings = load_settings(environ={"GATEWAY_UPSTREAM_API_KEY": "s3cr3t"})
    assert "s3cr3t" not in repr(settings)
    assert settings.upstream_api_key == "s3cr3t"


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [env for env, _, _ in describe() if f"`{env}`" not in readme]
    assert missing == []


def test_production_needs_the_real_agencies() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_UPSTREAM_BACKEND='simulators' is not allowed"):
        load_settings(environ={"GATEWAY_MODE": "production"})
    with pytest.raises(ConfigError, match="GATEWAY_TAX_URL"):
        load_settings(
            environ={"GATEWAY_UPSTREAM_BACKEND": "agencies", "GATEWAY_POPULATION_URL": "http://p"}
        )
