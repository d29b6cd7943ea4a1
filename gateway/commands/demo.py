"""``gateway demo`` and ``gateway simulators``: the product on one machine, nothing else needed.

The demo migrates a SQLite database in the data folder, makes (once) a demo certificate
authority, the demo merchants' certificates and a token key, seeds the merchant registry, signs
the example invoices, starts the agency simulators in-process and serves the gateway; it prints
tokens for every role and commands to try.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
import uvicorn

from gateway import demo
from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_tokens import ensure_demo_keys, mint_token
from gateway.keys import DemoPki
from gateway.logs import configure_logging
from gateway.server import uvicorn_options
from integrations.access.principal import Role
from integrations.simulators import known
from integrations.simulators import main as run_simulators
from integrations.store.database import migrate, open_database
from integrations.store.merchants import MerchantRegistry

if TYPE_CHECKING:
    from gateway.cli import SettingsContext

CITIZEN = "001099012345"
DEMO_APP = "budget-app"
TOKEN_HOURS = 12


@dataclass(frozen=True, slots=True)
class DemoToken:
    """A demo token; ``label`` says whose it is, ``subject`` names a merchant's variable."""

    role: Role
    subject: str
    label: str
    value: str

    @property
    def variable(self) -> str:
        """The shell variable the guide exports it as, e.g. ``MERCHANT_0100109106_TOKEN``."""
        suffix = self.subject if self.role is Role.MERCHANT else ""
        return "_".join(filter(None, (self.role.value.upper(), suffix, "TOKEN"))).replace("-", "_")


@click.command(name="demo")
@click.option("--host", help="Address to bind (GATEWAY_HOST).")
@click.option("--port", type=int, help="Port to listen on (GATEWAY_PORT).")
@click.pass_obj
def demo_command(ctx: SettingsContext, host: str | None, port: int | None) -> None:
    """Run the whole gateway with demo data: SQLite, simulators, demo keys."""
    settings = ctx.load(mode="demo", host=host, port=port, upstream_backend="simulators")
    configure_logging(settings.log_level, "text")
    examples, tokens = asyncio.run(prepare(settings))
    base_url = f"http://{settings.host}:{settings.port}"
    click.echo(guide(base_url, settings, examples, tokens))
    uvicorn.run(create_app(settings), **uvicorn_options(settings))


@click.command(name="simulators")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--base-port",
    type=click.IntRange(1, 65530),
    default=8701,
    show_default=True,
    help="Population listens here, then tax, insurance, electricity, water, telecom.",
)
def simulators_command(host: str, base_port: int) -> None:
    """Run the six agency simulators standalone until interrupted."""
    run_simulators(host, base_port)


async def prepare(settings: Settings) -> tuple[list[demo.SignedExample], list[DemoToken]]:
    """Everything the demo needs on disk and in the database; safe to run again."""
    url = settings.resolved_database_url
    await migrate(url)
    pki = DemoPki(settings.data_dir / "pki").ensure()
    async with open_database(url):
        await demo.seed_demo(MerchantRegistry(), pki)
    examples = demo.write_signed_examples(settings.data_dir / "examples", pki)
    submitters = sorted({example.submitter for example in examples})
    return examples, demo_tokens(settings, submitters)


def demo_tokens(settings: Settings, merchants: list[str]) -> list[DemoToken]:
    keys = ensure_demo_keys(settings.data_dir)

    def mint(role: Role, subject: str, label: str, **claims: object) -> DemoToken:
        value = mint_token(
            keys,
            role,
            subject,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl=timedelta(hours=TOKEN_HOURS),
            **claims,  # type: ignore[arg-type]
        )
        return DemoToken(role, subject, label, value)

    citizen = f"{known.PEOPLE[CITIZEN].full_name}, ID {CITIZEN}"
    return [
        mint(Role.CITIZEN, CITIZEN, f"citizen {citizen}, assurance level 2", assurance_level=2),
        mint(
            Role.APP,
            CITIZEN,
            f"app {DEMO_APP}, acting for {citizen} (purpose 'budgeting'; needs their consent)",
            app_id=DEMO_APP,
            purpose="budgeting",
        ),
        *(
            mint(
                Role.MERCHANT,
                code,
                f"merchant {_merchant_name(code)}, tax code {code}",
                tax_code=code,
            )
            for code in merchants
        ),
        mint(
            Role.OFFICER,
            "officer-01",
            "tax officer officer-01, sees phones, e-mails and bank accounts (read:sensitive)",
            scopes=("read:sensitive",),
        ),
        mint(Role.ADMIN, "operator-01", "registry operator operator-01"),
    ]


def _merchant_name(tax_code: str) -> str:
    found = known.MERCHANTS.get(tax_code)
    return found.name if found else demo.PROVIDER_NAME


def guide(
    base_url: str, settings: Settings, examples: list[demo.SignedExample], tokens: list[DemoToken]
) -> str:
    lines = [
        "",
        f"citizen-gateway demo on {base_url}  (data in {Path(settings.data_dir).resolve()})",
        "",
        f"In a browser: {base_url}/ and sign in as a demo person, merchant or officer;",
        f"  the officer workbench is {base_url}/workbench, a citizen's own page {base_url}/me,",
        f"  and GraphiQL with an example per role {base_url}/graphql.",
        "",
        f"Tokens, valid {TOKEN_HOURS} h (mint more with `gateway token ROLE SUBJECT`):",
        *(
            line
            for token in tokens
            for line in (f"  # {token.label}", f"  export {token.variable}={token.value}")
        ),
        "",
        "Demo people (the agency simulators know them; any other valid ID gets synthetic data):",
        *(f"  {p.id_number}  {p.full_name}" for p in known.PEOPLE.values()),
        f"  {known.UNREGISTERED_PERSON}  (no one: the population registry answers NOT_FOUND)",
        "",
        "Demo merchants (registered, each with a demo certificate):",
        *(f"  {code}  {_merchant_name(code)}" for code in (*demo.DEMO_MERCHANTS, demo.PROVIDER)),
        f"  ({demo.PROVIDER} is a software provider that signs and submits for {demo.RESTAURANT})",
        "",
        "Agency simulators: their addresses are logged as 'agency simulators' when the server",
        "starts. Make one misbehave, then heal it (knobs: latency_ms, jitter_ms, error_rate,",
        "hang_rate, down, rate_limit, malformed_rate; see docs/upstreams.md):",
        "  curl -X POST <population address>/_admin/faults -d '{\"down\": true}'",
        "  curl -X POST <population address>/_admin/faults -d '{}'",
        "",
        "Try:",
        f"  curl {base_url}/readyz",
        "  # submit the signed examples, each as its merchant (or the provider acting for it):",
        *(f"  {example.curl(base_url, _merchant_variable(example))}" for example in examples),
        f"  # all {len(examples)} signed examples are in {settings.data_dir / 'examples'}",
        "  # a citizen's own data, gathered from six agency simulators:",
        f"  curl -s {base_url}/graphql -H 'Content-Type: application/json' "
        f'-H "Authorization: Bearer $CITIZEN_TOKEN" '
        '-d \'{"query": "{ me { fullName address taxpayer { status taxOffice } '
        "insurance { healthCard { hospitalName isValid } } "
        "invoices(first: 5) { edges { node { sellerName totalPayable } } } } }\"}'",
        "  # who read my data, and why:",
        f"  curl -s {base_url}/graphql -H 'Content-Type: application/json' "
        f'-H "Authorization: Bearer $CITIZEN_TOKEN" '
        '-d \'{"query": "{ myDataAccessLog { edges { node { at reader purpose outcome } } } }"}\'',
        f"  gateway invoice verify {settings.data_dir / 'examples'}/<file>.xml   # offline check",
        f"  curl {base_url}/metrics",
        "",
    ]
    return "\n".join(lines)


def _merchant_variable(example: demo.SignedExample) -> str:
    return f"${DemoToken(Role.MERCHANT, example.submitter, '', '').variable}"
