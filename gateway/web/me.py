"""``/me``: a citizen's own data from every agency, their invoices, their consents, and who
read their data, when and why (the access log in plain words).

Everything is read through the graph's ``me`` and ``myDataAccessLog`` and changed through its
``grantConsent`` and ``revokeConsent``; the consents are listed from the consent store under
the same rule as those mutations (only the person manages their consents).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from gateway.state import services_of
from gateway.web.caller import form_of, principal_of
from gateway.web.formats import day, iso_day
from gateway.web.graph import PageGraph
from gateway.web.render import Problem, page, see_other
from integrations.access import ConsentView, Domain, may_grant_consent
from integrations.access.principal import Principal

LOG_SIZE: Final = 50
DEFAULT_CONSENT_DAYS: Final = 90


def reader_of(event: dict[str, Any], me: str) -> dict[str, str]:
    """Who read, as the log names them (``officer:officer-01``): their role and name, or
    ``self`` for the person's own reads."""
    if event["reader"] == me:
        return {"role": "self", "name": ""}
    _, _, name = str(event["reader"]).partition(":")
    return {"role": str(event["role"]), "name": name or str(event["reader"])}


class MyData:
    def __init__(self, graph: PageGraph) -> None:
        self.graph = graph

    async def home(self, request: Request) -> Response:
        answer = await self.graph.run(request, "me", {"log": LOG_SIZE})
        principal = await principal_of(request)
        consents, problems = await _consents(request, principal)
        log = [
            {**edge["node"], "who": reader_of(edge["node"], principal.actor)}
            for edge in (answer.data.get("myDataAccessLog") or {}).get("edges", [])
        ]
        context = {
            "answer": answer,
            "problems": [*answer.problems, *problems],
            "consents": consents,
            "log": log,
            "domains": [domain.value for domain in Domain],
            "now": datetime.now(UTC),
            "default_expiry": day(date.today() + timedelta(days=DEFAULT_CONSENT_DAYS)),
        }
        return page(request, "me.html", context)

    async def grant(self, request: Request) -> Response:
        form = await form_of(request)
        expires = iso_day(str(form.get("expires", "")))
        try:
            expires_at = datetime.combine(date.fromisoformat(expires), time.max, UTC).isoformat()
        except ValueError:
            expires_at = expires
        variables = {
            "input": {
                "appId": str(form.get("app_id", "")).strip(),
                "domains": [str(d).upper() for d in form.getlist("domains")],
                "purpose": str(form.get("purpose", "")).strip(),
                "expiresAt": expires_at,
            }
        }
        answer = await self.graph.run(request, "grant_consent", variables)
        _flash(request, answer.problems, "consent.granted")
        return see_other("/me")

    async def revoke(self, request: Request) -> Response:
        form = await form_of(request)
        answer = await self.graph.run(request, "revoke_consent", {"id": str(form.get("id", ""))})
        _flash(request, answer.problems, "consent.revoked")
        return see_other("/me")


def _flash(request: Request, problems: list[Problem], done: str) -> None:
    request.session["flash"] = {
        "done": "" if problems else done,
        "problems": [[p.code, p.message, p.hint] for p in problems],
    }


async def _consents(
    request: Request, principal: Principal
) -> tuple[list[ConsentView], list[Problem]]:
    decision = may_grant_consent(principal, principal.subject, ())
    if not decision.allowed:
        return [], [Problem(decision.reason, decision.message, decision.hint)]
    views = await services_of(request).consents.list_for(principal.subject)
    return sorted(views, key=lambda view: view.granted_at, reverse=True), []
