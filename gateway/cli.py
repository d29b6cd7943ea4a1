"""The ``gateway`` command: thin commands over library calls."""

from __future__ import annotations

import asyncio
import importlib
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import uvicorn

from gateway.config import CONFIG_FILE_ENV, ENV_PREFIX, ConfigError, Settings, load_settings
from gateway.demo_tokens import ensure_demo_keys
from gateway.keys import load_key_material
from gateway.logs import configure_logging
from gateway.server import uvicorn_options, worker_metrics
from integrations.store.database import migrate as migrate_database


class SettingsContext:
    """Settings are loaded lazily, so that ``--help`` works whatever the environment holds."""

    def __init__(self, config_file: Path | None) -> None:
        self.config_file = config_file

    def load(self, **overrides: Any) -> Settings:
        try:
            return load_settings(config_file=self.config_file, **overrides)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc


pass_settings = click.make_pass_decorator(SettingsContext)

COMMANDS = {
    "demo": "gateway.commands.demo:demo_command",
    "simulators": "gateway.commands.demo:simulators_command",
    "pki": "gateway.commands.pki:commands",
    "invoice": "gateway.commands.invoices:commands",
    "merchants": "gateway.commands.merchants:commands",
    "token": "gateway.commands.tokens:command",
    "audit": "gateway.commands.audit:commands",
    "partitions": "gateway.commands.partitions:commands",
}
"""The commands kept in modules of their own, by name, and where each is defined."""


class Commands(click.Group):
    """Imports a command's module only when that command is asked for.

    Every ``gateway`` process starts here, each worker of ``gateway serve`` included (it
    re-imports the main module), and the demo's, audit's and the other commands' modules
    import most of the gateway between them.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, name = where.split(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version("citizen-gateway"), prog_name="gateway")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file (default: $GATEWAY_CONFIG).",
)
@click.pass_context
def main(ctx: click.Context, config_file: Path | None) -> None:
    """citizen-gateway: GraphQL federation of citizen data and a signed e-invoice intake."""
    ctx.obj = SettingsContext(config_file)


@main.command()
@click.option("--host", help="Address to bind (GATEWAY_HOST).")
@click.option("--port", type=int, help="Port to listen on (GATEWAY_PORT).")
@click.option("--workers", type=int, help="Worker processes (GATEWAY_WORKERS).")
@pass_settings
def serve(ctx: SettingsContext, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the gateway over HTTP."""
    settings = ctx.load(host=host, port=port, workers=workers)
    configure_logging(settings.log_level, settings.log_format)
    prepare_keys(settings)
    _export(ctx, host=host, port=port, workers=workers)
    with worker_metrics(settings):
        uvicorn.run(
            "gateway.app:app_from_environment",
            factory=True,
            workers=settings.workers,
            **uvicorn_options(settings),
        )


@main.command()
@pass_settings
def migrate(ctx: SettingsContext) -> None:
    """Create or upgrade the database schema to the latest version."""
    settings = ctx.load()
    url = settings.resolved_database_url
    asyncio.run(migrate_database(url))
    click.echo(f"database at {_redact(url)} is up to date")


def prepare_keys(settings: Settings) -> None:
    """Make any demo keys once, here, before worker processes would race to make them."""
    load_key_material(settings)
    if not settings.jwks_url and settings.jwks_file is None:
        ensure_demo_keys(settings.data_dir)


def _export(ctx: SettingsContext, **overrides: Any) -> None:
    """Hand command-line choices to worker processes, which read the environment."""
    if ctx.config_file is not None:
        os.environ[CONFIG_FILE_ENV] = str(ctx.config_file.resolve())
    for name, value in overrides.items():
        if value is not None:
            os.environ[ENV_PREFIX + name.upper()] = str(value)


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
