"""The citizen: one person by ID number, with what each agency holds about them.

Each field is guarded by the domain it reveals and loads from its own agency, so a refused
domain or a failing agency nulls only that field's subtree. Fields that wait for nothing
(the profile, read once by the root field; the grouping objects) answer synchronously.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    SelectionSetNode,
)
from graphql.pyutils import AwaitableOrValue
from strawberry.dataloader import DataLoader

from integrations.access import Domain
from integrations.errors import IdentityError
from integrations.identity import PersonalId
from integrations.upstreams import Person, Sex
from resolvers.access import guarded, refuse
from resolvers.connections import DEFAULT_PAGE
from resolvers.context import Info
from resolvers.errors import PersonNotFound
from resolvers.insurance import Insurance
from resolvers.invoices import InvoiceConnection, bought_by
from resolvers.loaders import Loaders
from resolvers.taxpayer import Taxpayer, load_taxpayer
from resolvers.utilities import Utilities

T = TypeVar("T")

strawberry.enum(Sex, name="Sex")


@strawberry.type(description="A person, by 12-digit personal ID number.")
class Citizen:
    """``record`` is the population registry's answer, read once by the root field for a
    reader allowed the profile (a ``GraphQLError`` when the registry failed), so the profile
    fields answer from it without waiting."""

    id_number: str
    record: strawberry.Private[Person | GraphQLError | None] = None

    def _profile(self, info: Info, read: Callable[[Person], T]) -> AwaitableOrValue[T | None]:
        return guarded(info, self.id_number, Domain.PROFILE, lambda: self._read(read))

    def _read(self, read: Callable[[Person], T]) -> T | None:
        if isinstance(self.record, GraphQLError):
            raise self.record
        return None if self.record is None else read(self.record)

    @strawberry.field(graphql_type=str | None)
    def full_name(self, info: Info) -> AwaitableOrValue[str | None]:
        return self._profile(info, lambda person: person.full_name)

    @strawberry.field(graphql_type=date | None)
    def date_of_birth(self, info: Info) -> AwaitableOrValue[date | None]:
        return self._profile(info, lambda person: person.date_of_birth)

    @strawberry.field(graphql_type=Sex | None)
    def sex(self, info: Info) -> AwaitableOrValue[Sex | None]:
        return self._profile(info, lambda person: person.sex)

    @strawberry.field(graphql_type=str | None)
    def address(self, info: Info) -> AwaitableOrValue[str | None]:
        return self._profile(info, lambda person: person.address)

    @strawberry.field(graphql_type=Taxpayer | None)
    def taxpayer(self, info: Info) -> AwaitableOrValue[Taxpayer | None]:
        return guarded(
            info,
            self.id_number,
            Domain.TAX,
            lambda: load_taxpayer(info, self.id_number, "taxpayer"),
        )

    @strawberry.field(description="Invoices the person bought, newest first.")
    async def invoices(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> InvoiceConnection | None:
        return await bought_by(info, self.id_number, first, after, "invoices")

    @strawberry.field(graphql_type=Insurance | None)
    def insurance(self, info: Info) -> AwaitableOrValue[Insurance | None]:
        return guarded(
            info, self.id_number, Domain.INSURANCE, lambda: Insurance(holder_id=self.id_number)
        )

    @strawberry.field(graphql_type=Utilities | None)
    def utilities(self, info: Info) -> AwaitableOrValue[Utilities | None]:
        return guarded(
            info, self.id_number, Domain.UTILITIES, lambda: Utilities(holder_id=self.id_number)
        )


READ_AHEAD: dict[tuple[str, ...], tuple[Domain, Callable[[Loaders], DataLoader[str, Any]]]] = {
    ("taxpayer",): (Domain.TAX, lambda loaders: loaders.taxpayers),
    ("insurance", "healthCard"): (Domain.INSURANCE, lambda loaders: loaders.health_cards),
    ("insurance", "social"): (Domain.INSURANCE, lambda loaders: loaders.social),
    ("utilities", "electricity"): (Domain.UTILITIES, lambda loaders: loaders.electricity),
    ("utilities", "water"): (Domain.UTILITIES, lambda loaders: loaders.water),
    ("utilities", "telecom"): (Domain.UTILITIES, lambda loaders: loaders.telecom),
}
"""The person's fields that each read one agency's record, by their path under the person:
what the root field starts reading beside the population record."""


async def citizen(info: Info, id_number: str) -> Citizen | None:
    """A person by ID number; each field says on its own whether it may be read."""
    try:
        person = PersonalId(id_number).value
    except IdentityError as exc:
        raise refuse(exc) from exc
    return await _registered(info, person)


async def me(info: Info) -> Citizen | None:
    """The person the caller is or acts for: a citizen, or an app on a citizen's behalf."""
    principal = info.context.principal
    if not (principal.is_citizen or principal.is_app):
        return None
    try:
        person = PersonalId(principal.subject).value
    except IdentityError:
        return None
    return await _registered(info, person)


async def _registered(info: Info, person: str) -> Citizen:
    """The person, or NOT_FOUND when the population registry holds no such person.

    Asked only for a reader allowed the person's profile, so nobody else learns whether a
    person exists; it reads no one's data, so it is not logged (the profile fields that read
    the same record are). A registry that cannot answer leaves it to the fields, which report
    the failure on their own.
    """
    if not (await info.context.access.decision(person, Domain.PROFILE)).allowed:
        return Citizen(id_number=person)
    record = info.context.loaders.people.load(person)
    _read_ahead(info, person)
    try:
        found = await record
    except GraphQLError as exc:
        return Citizen(id_number=person, record=exc)
    if found is None:
        raise PersonNotFound(f"the population registry holds no person {person}")
    return Citizen(id_number=person, record=found)


def _read_ahead(info: Info, person: str) -> None:
    """Start the agency reads the query asks of this person, and the reader may make without
    a consent lookup, while the population record is read: the fields that need them find
    them in their loaders, one agency round trip sooner. Nothing read ahead is answered or
    logged unless its field is; for a person who turns out not to exist it is dropped."""
    access, loaders = info.context.access, info.context.loaders
    raw = info._raw_info
    for path in _paths(raw.field_nodes[0].selection_set, raw.fragments):
        domain, loader = READ_AHEAD[path]
        decision = access.known(person, domain)
        if decision is not None and decision.allowed:
            loader(loaders).load(person).add_done_callback(_dropped)


def _paths(
    selections: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    prefix: tuple[str, ...] = (),
) -> set[tuple[str, ...]]:
    """The paths of ``READ_AHEAD`` among the selected fields, through fragments.

    Walks the query's syntax tree two levels deep: strawberry's ``selected_fields`` would
    convert the whole selection below the person, arguments and directives included, on
    every request (52 µs against 6 µs for the bench's citizen query)."""
    found: set[tuple[str, ...]] = set()
    for selection in selections.selections if selections is not None else ():
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            found |= _paths(fragment.selection_set if fragment else None, fragments, prefix)
        elif not isinstance(selection, FieldNode):
            found |= _paths(selection.selection_set, fragments, prefix)
        elif (path := (*prefix, selection.name.value)) in READ_AHEAD:
            found.add(path)
        elif len(path) == 1:
            found |= _paths(selection.selection_set, fragments, path)
    return found


def _dropped(read: asyncio.Future[Any]) -> None:
    """A read ahead's failure is its field's to report; unasked, it is not an error."""
    if not read.cancelled():
        read.exception()
