"""Signing in and out, and the language switch.

A token is checked by the same verifier as every API request before it is kept; the demo
picker mints one first. Each role lands on its own page: officers (and merchants, whose
sales the same search lists) on the workbench, citizens and apps on ``/me``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.state import services_of
from gateway.web.caller import form_of, signed_in
from gateway.web.guard import sign_out
from gateway.web.i18n import LANGUAGES
from gateway.web.identities import BY_KEY, DEMO_IDENTITIES, demo_sign_in_offered, demo_token
from gateway.web.render import Problem, page, see_other
from gateway.web.sessions import new_csrf_token
from integrations.access import AccessError, Principal, Role

HOME = {Role.CITIZEN: "/me", Role.APP: "/me"}


def home_of(role: str) -> str:
    return HOME.get(Role(role), "/workbench")


async def root(request: Request) -> Response:
    who = signed_in(request)
    return see_other(home_of(who["role"]) if who else "/signin")


async def sign_in_page(request: Request, problem: Problem | None = None) -> Response:
    settings = services_of(request).settings
    notice = request.session.pop("notice", None)
    problems = [problem] if problem else []
    if notice:
        problems.append(Problem(notice, ""))
    identities = DEMO_IDENTITIES if demo_sign_in_offered(settings) else ()
    status = 401 if problem else 200
    return page(
        request, "signin.html", {"identities": identities, "problems": problems}, status=status
    )


async def sign_in(request: Request) -> Response:
    form = await form_of(request)
    settings = services_of(request).settings
    identity = BY_KEY.get(str(form.get("identity", "")))
    if identity is not None and demo_sign_in_offered(settings):
        token, label = demo_token(settings, identity), identity.label
    else:
        token, label = str(form.get("token", "")).strip(), ""
    verifier = services_of(request).authenticate.verifier
    try:
        if verifier is None or not token:
            raise AccessError("paste a token, or pick a demo identity", code="AUTH_REQUIRED")
        principal = await verifier.verify(token)
    except AccessError as exc:
        return await sign_in_page(request, Problem.of(exc))
    sign_out(request)
    request.session.update(
        token=token, csrf=new_csrf_token(), who=_who(principal, label or principal.subject)
    )
    return see_other(home_of(principal.role.value))


def _who(principal: Principal, label: str) -> dict[str, str]:
    return {"role": principal.role.value, "label": label, "subject": principal.subject}


async def sign_out_now(request: Request) -> Response:
    await form_of(request)
    sign_out(request)
    return see_other("/signin")


async def switch_language(request: Request) -> Response:
    form = await form_of(request)
    lang = str(form.get("lang", ""))
    if lang in LANGUAGES:
        request.session["lang"] = lang
    back = str(form.get("back", "/"))
    return see_other(back if back.startswith("/") and not back.startswith("//") else "/")
