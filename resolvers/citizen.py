"""The citizen: one person by ID number, with what each agency holds about them.

Each field is guarded by the domain it reveals and loads from its own agency, so a refused
domain or a failing agency nulls only that field's subtree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from integrations.access import Domain
from integrations.errors import IdentityError
from integrations.identity import PersonalId
from integrations.upstreams import Person, Sex
from resolvers.access import (
    ReadsInsurance,
    ReadsProfile,
    ReadsTax,
    ReadsUtilities,
    refuse,
)
from resolvers.connections import DEFAULT_PAGE
from resolvers.context import Info
from resolvers.errors import PersonNotFound
from resolvers.insurance import Insurance
from resolvers.invoices import InvoiceConnection, bought_by
from resolvers.taxpayer import Taxpayer, load_taxpayer
from resolvers.utilities import Utilities

T = TypeVar("T")

strawberry.enum(Sex, name="Sex")


@strawberry.type(description="A person, by 12-digit personal ID number.")
class Citizen:
    id_number: str

    async def _profile(self, info: Info, read: Callable[[Person], T]) -> T | None:
        person = await info.context.loaders.people.load(self.id_number)
        return None if person is None else read(person)

    @strawberry.field(permission_classes=[ReadsProfile])
    async def full_name(self, info: Info) -> str | None:
        return await self._profile(info, lambda person: person.full_name)

    @strawberry.field(permission_classes=[ReadsProfile])
    async def date_of_birth(self, info: Info) -> date | None:
        return await self._profile(info, lambda person: person.date_of_birth)

    @strawberry.field(permission_classes=[ReadsProfile])
    async def sex(self, info: Info) -> Sex | None:
        return await self._profile(info, lambda person: person.sex)

    @strawberry.field(permission_classes=[ReadsProfile])
    async def address(self, info: Info) -> str | None:
        return await self._profile(info, lambda person: person.address)

    @strawberry.field(permission_classes=[ReadsTax])
    async def taxpayer(self, info: Info) -> Taxpayer | None:
        return await load_taxpayer(info, self.id_number, "taxpayer")

    @strawberry.field(description="Invoices the person bought, newest first.")
    async def invoices(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> InvoiceConnection | None:
        return await bought_by(info, self.id_number, first, after, "invoices")

    @strawberry.field(permission_classes=[ReadsInsurance])
    async def insurance(self) -> Insurance | None:
        return Insurance(holder_id=self.id_number)

    @strawberry.field(permission_classes=[ReadsUtilities])
    async def utilities(self) -> Utilities | None:
        return Utilities(holder_id=self.id_number)


async def citizen(info: Info, id_number: str) -> Citizen | None:
    """A person by ID number; each field says on its own whether it may be read."""
    try:
        person = PersonalId(id_number).value
    except IdentityError as exc:
        raise refuse(exc) from exc
    await _registered(info, person)
    return Citizen(id_number=person)


async def me(info: Info) -> Citizen | None:
    """The person the caller is or acts for: a citizen, or an app on a citizen's behalf."""
    principal = info.context.principal
    if not (principal.is_citizen or principal.is_app):
        return None
    try:
        person = PersonalId(principal.subject).value
    except IdentityError:
        return None
    await _registered(info, person)
    return Citizen(id_number=person)


async def _registered(info: Info, person: str) -> None:
    """Raise NOT_FOUND when the population registry holds no such person.

    Asked only for a reader allowed the person's profile, so nobody else learns whether a
    person exists; it reads no one's data, so it is not logged (the profile fields that read
    the same record are). A registry that cannot answer leaves it to the fields, which report
    the failure on their own.
    """
    if not (await info.context.access.decision(person, Domain.PROFILE)).allowed:
        return
    try:
        found = await info.context.loaders.people.load(person)
    except GraphQLError:
        return
    if found is None:
        raise PersonNotFound(f"the population registry holds no person {person}")
