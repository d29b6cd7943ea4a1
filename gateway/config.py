"""Settings: one registry that feeds start-up validation, the CLI and the README table.

Each setting is read from the environment (``GATEWAY_<NAME>``), then from the optional TOML
config file (``GATEWAY_CONFIG`` or ``--config``; keys are the lower-case names), then taken
from its default. Every value is checked at start; a bad one stops start-up with a message
that names the setting and says what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from integrations.ratelimit.windows import Limit

ENV_PREFIX = "GATEWAY_"
CONFIG_FILE_ENV = "GATEWAY_CONFIG"

MODES = ("demo", "development", "production")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")
AGENCIES = ("population", "tax", "insurance", "electricity", "water", "telecom")
UPSTREAM_BACKENDS = ("simulators", "agencies")
# Asymmetric only: "none" and HMAC (where a public key could be misused as the secret) never.
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
ROLES = ("citizen", "app", "merchant", "officer")
COST_MODES = ("off", "measure", "enforce")
_CHANNEL = re.compile(r"[A-Za-z0-9:._-]{1,64}")


class ConfigError(ValueError):
    """A setting has a value that is not allowed; the message names it."""

    code = "CONFIG_INVALID"


Parser = Callable[[str], Any]


def _choice(*allowed: str) -> Parser:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return parse


def _choices(*allowed: str) -> Parser:
    def parse(text: str | list[str]) -> tuple[str, ...]:
        items = text if isinstance(text, list) else str(text).split(",")
        values = tuple(item.strip().lower() for item in items if item.strip())
        if any(value not in allowed for value in values):
            raise ValueError(f"a comma-separated list of {', '.join(allowed)}")
        return values

    return parse


def _int_between(low: int, high: int) -> Parser:
    def parse(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise ValueError(f"a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Parser:
    def parse(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            raise ValueError(f"a number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"a number from {low} to {high}")
        return value

    return parse


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("true or false")


def _path(text: str) -> Path:
    if not str(text).strip():
        raise ValueError("a file system path")
    return Path(str(text).strip()).expanduser()


def _paths(text: str | list[str]) -> tuple[Path, ...]:
    items = text if isinstance(text, list) else str(text).split(",")
    return tuple(Path(item.strip()).expanduser() for item in items if item.strip())


def _url(*schemes: str) -> Parser:
    def parse(text: str) -> str:
        value = str(text).strip()
        parts = urlsplit(value)
        if not value:
            return ""
        if parts.scheme not in schemes or not (parts.netloc or parts.path):
            raise ValueError(f"a URL starting with {' or '.join(s + '://' for s in schemes)}")
        return value

    return parse


def _text(text: str) -> str:
    return str(text).strip()


def _channel(text: str) -> str:
    value = str(text).strip()
    if not _CHANNEL.fullmatch(value):
        raise ValueError("1 to 64 letters, digits and : . _ -")
    return value


def _algorithms(text: str | list[str]) -> tuple[str, ...]:
    items = text if isinstance(text, list) else str(text).split(",")
    chosen = tuple(item.strip() for item in items if item.strip())
    if not chosen or any(item not in JWT_ALGORITHMS for item in chosen):
        raise ValueError(f"a comma-separated list from {', '.join(JWT_ALGORITHMS)}")
    return chosen


def _limit(text: str) -> Limit:
    return Limit.parse(text)


def setting(default: Any, parse: Parser, help: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"parse": parse, "help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    mode: str = setting(
        "development", _choice(*MODES), "demo, development or production (hardens GraphQL)."
    )
    data_dir: Path = setting(Path("data"), _path, "Folder for the SQLite file and demo keys.")
    database_url: str = setting(
        "",
        _url("sqlite", "postgres", "postgresql"),
        "sqlite:///path or postgres://user@host/db; empty means <data_dir>/gateway.sqlite3.",
    )
    analytics_database_url: str = setting(
        "",
        _url("sqlite", "postgres", "postgresql"),
        "Read replica of the database for officer analytics and exports (answers carry asOf, "
        "docs/analytics.md); empty reads them from the primary.",
    )
    host: str = setting("127.0.0.1", _text, "Address `gateway serve` binds to.")
    port: int = setting(8000, _int_between(1, 65535), "Port `gateway serve` listens on.")
    workers: int = setting(1, _int_between(1, 64), "Worker processes for `gateway serve`.")
    log_level: str = setting("info", _choice(*LOG_LEVELS), "Lowest level written to the log.")
    log_format: str = setting("json", _choice(*LOG_FORMATS), "json (one object per line) or text.")
    max_body_bytes: int = setting(
        1_048_576, _int_between(1024, 64 * 1_048_576), "Largest request body accepted, in bytes."
    )
    trust_anchors: tuple[Path, ...] = setting(
        (), _paths, "Comma-separated PEM files of CAs trusted to certify sellers."
    )
    crl_files: tuple[Path, ...] = setting(
        (), _paths, "Comma-separated CRL files (PEM or DER) checked at the signing time."
    )
    allow_sha1: bool = setting(
        True, _bool, "Accept RSA-SHA1 invoice signatures (with a warning finding)."
    )
    clock_skew_seconds: int = setting(
        300, _int_between(0, 86_400), "Allowed clock difference for issue and signing times."
    )
    signing_key: Path | None = setting(
        None, _path, "PEM private key the gateway signs receipts and codes with."
    )
    signing_cert: Path | None = setting(
        None, _path, "PEM certificate matching GATEWAY_SIGNING_KEY."
    )
    signing_retired_certs: tuple[Path, ...] = setting(
        (),
        _paths,
        "Comma-separated PEM certificates (each with its chain) of retired signing keys.",
    )
    audit_checkpoint_seconds: int = setting(
        300,
        _int_between(0, 86_400),
        "Seconds between signed checkpoints of the access log's head; 0 turns them off.",
    )
    session_secret: str = setting(
        "",
        _text,
        "Secret the browser pages' session cookie is encrypted with (every worker the same); "
        "empty derives it from the gateway's signing key.",
        secret=True,
    )
    redis_url: str = setting(
        "", _url("redis", "rediss"), "Redis for shared rate limits and caches; empty for memory."
    )
    bus_channel: str = setting(
        "gateway:events",
        _channel,
        "Redis pub/sub channel on which the instances of one deployment tell each other of "
        "accepted invoices and changes to cached records.",
    )
    metrics_dir: Path | None = setting(
        None,
        _path,
        "Folder in which `gateway serve --workers N` makes each run's fresh directory for its "
        "workers' metrics; empty for the system's temporary folder.",
    )
    upstream_backend: str = setting(
        "simulators",
        _choice(*UPSTREAM_BACKENDS),
        "simulators (started in-process) or agencies (the six *_URL settings).",
    )
    upstream_timeout_seconds: float = setting(
        2.0, _float_between(0.01, 120), "Total time allowed for one agency call."
    )
    upstream_api_key: str = setting(
        "", _text, "Key sent to the agencies in the X-Api-Key header.", secret=True
    )
    population_url: str = setting("", _url("http", "https"), "Population registry base URL.")
    tax_url: str = setting("", _url("http", "https"), "Tax registry base URL.")
    insurance_url: str = setting("", _url("http", "https"), "Health and social insurance URL.")
    electricity_url: str = setting("", _url("http", "https"), "Electricity company base URL.")
    water_url: str = setting("", _url("http", "https"), "Water company base URL.")
    telecom_url: str = setting("", _url("http", "https"), "Telecom operators' base URL.")
    jwks_url: str = setting(
        "", _url("http", "https"), "JWKS URL of the identity provider whose tokens are accepted."
    )
    jwks_file: Path | None = setting(
        None, _path, "Local JWKS file; with no JWKS URL or file, <data_dir>/demo-jwks.json."
    )
    jwks_cache_seconds: int = setting(
        300, _int_between(10, 86_400), "How long keys fetched from GATEWAY_JWKS_URL are reused."
    )
    jwt_issuer: str = setting("citizen-gateway-demo", _text, "Required iss claim of tokens.")
    jwt_audience: str = setting("citizen-gateway", _text, "Required aud claim of tokens.")
    jwt_algorithms: tuple[str, ...] = setting(
        ("RS256", "PS256", "ES256", "EdDSA"),
        _algorithms,
        "Comma-separated token signature algorithms accepted (asymmetric only).",
    )
    jwt_leeway_seconds: int = setting(
        30, _int_between(0, 300), "Clock difference allowed when checking exp and nbf."
    )
    rate_limit_principal: Limit = setting(
        Limit(600, 60), _limit, "Requests allowed per caller, as <requests>/<seconds>."
    )
    rate_limit_address: Limit = setting(
        Limit(1200, 60), _limit, "Requests allowed per client address, as <requests>/<seconds>."
    )
    graphql_max_depth: int = setting(
        10, _int_between(1, 100), "Deepest field nesting a GraphQL operation may have."
    )
    graphql_max_aliases: int = setting(
        15, _int_between(0, 1000), "Most aliases a GraphQL document may use."
    )
    graphql_max_tokens: int = setting(
        2000, _int_between(50, 100_000), "Most lexical tokens a GraphQL document may have."
    )
    graphql_max_cost: int = setting(
        5000, _int_between(1, 100_000_000), "Highest static cost of one GraphQL operation."
    )
    graphql_cost_mode: str = setting(
        "enforce", _choice(*COST_MODES), "off, measure (report only) or enforce the cost limit."
    )
    graphql_default_list_size: int = setting(
        10, _int_between(1, 10_000), "List size assumed by the cost analysis without first/limit."
    )
    graphql_trusted_documents: Path | None = setting(
        None, _path, "JSON manifest of trusted GraphQL documents (sha256 id to text)."
    )
    graphql_trusted_documents_required_for: tuple[str, ...] = setting(
        (), _choices(*ROLES), "Comma-separated roles that may only run trusted documents."
    )
    graphql_cache_size: int = setting(
        1024, _int_between(16, 1_000_000), "Parsed and validated documents kept per worker."
    )
    graphql_max_body_bytes: int = setting(
        262_144, _int_between(1024, 16 * 1_048_576), "Largest GraphQL request body, in bytes."
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite://{(self.data_dir / 'gateway.sqlite3').resolve()}"

    def upstream_urls(self) -> dict[str, str]:
        return {agency: getattr(self, f"{agency}_url") for agency in AGENCIES}

    def with_values(self, **values: Any) -> Settings:
        return replace(self, **values)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={'***' if f.metadata['secret'] and getattr(self, f.name) else getattr(self, f.name)!r}"  # noqa: E501
            for f in fields(self)
        )
        return f"Settings({shown})"


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for each setting, in declaration order."""
    return [
        (ENV_PREFIX + f.name.upper(), _show_default(f.default), f.metadata["help"])
        for f in fields(Settings)
    ]


def _show_default(value: Any) -> str:
    if value in ("", (), None):
        return "(empty)"
    return str(value)


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Read, parse and check every setting; raise ``ConfigError`` naming each bad one."""
    environ = os.environ if environ is None else environ
    file_values = _read_file(config_file or _config_path(environ))
    unknown = sorted(set(file_values) - {f.name for f in fields(Settings)})
    problems = [f"{name} (in the config file): unknown setting" for name in unknown]
    values: dict[str, Any] = {}
    for f in fields(Settings):
        env_name = ENV_PREFIX + f.name.upper()
        if f.name in overrides and overrides[f.name] is not None:
            raw: Any = overrides[f.name]
        elif env_name in environ:
            raw = environ[env_name]
        elif f.name in file_values:
            raw = file_values[f.name]
        else:
            continue
        if not isinstance(raw, str) and not isinstance(raw, list):
            raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
        try:
            values[f.name] = f.metadata["parse"](raw)
        except ValueError as exc:
            problems.append(f"{env_name}={raw!r} is not allowed: expected {exc}")
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    settings = Settings(**values)
    _check_together(settings)
    return settings


def _config_path(environ: Mapping[str, str]) -> Path | None:
    value = environ.get(CONFIG_FILE_ENV, "").strip()
    return Path(value) if value else None


def _read_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{CONFIG_FILE_ENV}: config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        message = f"{CONFIG_FILE_ENV}: config file {path} is not valid TOML: {exc}"
        raise ConfigError(message) from None


def _check_together(settings: Settings) -> None:
    if settings.mode == "production" and settings.upstream_backend != "agencies":
        raise ConfigError(
            "GATEWAY_UPSTREAM_BACKEND='simulators' is not allowed in production: use agencies"
        )
    missing = [a for a, url in settings.upstream_urls().items() if not url]
    if settings.upstream_backend == "agencies" and missing:
        names = ", ".join(f"GATEWAY_{a.upper()}_URL" for a in missing)
        raise ConfigError(f"GATEWAY_UPSTREAM_BACKEND='agencies' needs {names}")
    if settings.jwks_url and settings.jwks_file is not None:
        raise ConfigError(
            "GATEWAY_JWKS_URL and GATEWAY_JWKS_FILE are not allowed together: set one"
        )
    if (settings.signing_key is None) != (settings.signing_cert is None):
        raise ConfigError(
            "GATEWAY_SIGNING_KEY and GATEWAY_SIGNING_CERT are not allowed alone: "
            "set both or neither"
        )
