"""Who is asking: the verified caller of one request, whatever the transport.

A ``Principal`` is built once per request from a verified token (``gateway.auth``) and the
request's declared purpose; everything downstream decides on it and records it in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    APP = "app"
    MERCHANT = "merchant"
    OFFICER = "officer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request.

    ``subject`` is the token's ``sub`` (for a citizen, their 12-digit ID number). ``tax_code``
    is set for merchants, ``app_id`` for apps, ``scopes`` for officers. ``purpose`` and
    ``case_ref`` are declared per request; ``client_address`` is the peer address::

        >>> officer = Principal("off-7", Role.OFFICER, scopes=frozenset({"read:phone"}))
        >>> officer.for_request(purpose="audit", case_ref="TT-2026-17").case_ref
        'TT-2026-17'
    """

    subject: str
    role: Role
    assurance_level: int = 1
    tax_code: str | None = None
    app_id: str | None = None
    scopes: frozenset[str] = frozenset()
    purpose: str = ""
    case_ref: str = ""
    client_address: str = ""

    @property
    def is_citizen(self) -> bool:
        return self.role is Role.CITIZEN

    @property
    def is_app(self) -> bool:
        return self.role is Role.APP

    @property
    def is_merchant(self) -> bool:
        return self.role is Role.MERCHANT

    @property
    def is_officer(self) -> bool:
        return self.role is Role.OFFICER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def actor(self) -> str:
        """The name the audit log and rate limits know the caller by.

        An app acts under its client id, whatever user its token was issued through.
        """
        if self.role is Role.APP and self.app_id:
            return f"app:{self.app_id}"
        return f"{self.role.value}:{self.subject}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def for_request(
        self, *, purpose: str | None = None, case_ref: str | None = None, client_address: str = ""
    ) -> Principal:
        """The same caller with this request's declared purpose, case and address."""
        return replace(
            self,
            purpose=self.purpose if purpose is None else purpose,
            case_ref=self.case_ref if case_ref is None else case_ref,
            client_address=client_address or self.client_address,
        )
