"""Who is at the browser, and how a page asks the API's doors on their behalf.

A page request carries no bearer token: the session does. ``api_request`` turns a page request
into the request the API door would have received (``Authorization``, ``X-Purpose`` and
``X-Case-Ref`` from the session), so the token is verified again on every page, by the same
authenticator, and a page can hand the request to a REST route unchanged. Every POST form
carries the session's CSRF token beside SameSite=Strict.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import Scope

from gateway.http.errors import Refusal
from gateway.state import services_of
from gateway.web.sessions import new_csrf_token
from integrations.access import Principal, RequestContextInvalid

MAX_FORM_BYTES: Final = 65_536


class SignInRequired(Exception):
    """The session holds no token: the page sends the browser to the sign-in page."""


class CsrfRejected(Exception):
    """A POST form without this session's CSRF token (another site's form, or a stale one)."""

    code = "CSRF_REJECTED"


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


async def form_of(request: Request) -> FormData:
    """The POST form (URL-encoded: the pages post no files), once its CSRF token matched the
    session's."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refusal(413, "TOO_LARGE", f"a page form is at most {MAX_FORM_BYTES} bytes")
    form = FormData(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    sent = str(form.get("csrf", ""))
    expected = str(request.session.get("csrf", ""))
    if not expected or not hmac.compare_digest(sent, expected):
        raise CsrfRejected
    return form


def case_of(request: Request) -> dict[str, str]:
    """The case the officer opened (purpose and reference), or an empty one."""
    case = request.session.get("case") or {}
    return {"purpose": str(case.get("purpose", "")), "case_ref": str(case.get("case_ref", ""))}


def api_request(
    request: Request,
    *,
    path: str | None = None,
    query: str = "",
    path_params: Mapping[str, str] | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Request:
    """The page request as the API door receives it, with the session's credentials."""
    token = request.session.get("token")
    if not token:
        raise SignInRequired
    case = case_of(request)
    sent = [("authorization", f"Bearer {token}"), *headers]
    sent += [(name, value) for name, value in _case_headers(case) if value]
    scope: Scope = {
        **request.scope,
        "method": "GET",
        "path": path or request.scope["path"],
        "raw_path": (path or request.scope["path"]).encode(),
        "query_string": query.encode(),
        "headers": [(name.encode("latin-1"), _header_value(name, value)) for name, value in sent],
        "path_params": dict(path_params or {}),
        "state": {"services": services_of(request)},
    }
    return Request(scope, request.receive)


def _header_value(name: str, value: str) -> bytes:
    """Header bytes as an HTTP client would send them; what HTTP cannot carry is refused as
    the API refuses a bad context, rather than sent garbled into the access log."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise RequestContextInvalid(f"{name} must be plain Latin text") from None


def _case_headers(case: Mapping[str, str]) -> list[tuple[str, str]]:
    return [("x-purpose", case["purpose"]), ("x-case-ref", case["case_ref"])]


async def principal_of(request: Request) -> Principal:
    """The signed-in caller with the open case, verified as an API request's would be."""
    api = api_request(request)
    return await services_of(request).authenticate.caller(api)


def chosen(request: Request, name: str) -> str | None:
    """What the signed-in caller chose to look at (an invoice, a person), kept in the session;
    raises ``SignInRequired`` when nobody is signed in."""
    if not request.session.get("token"):
        raise SignInRequired
    value = request.session.get(name)
    return str(value) if value else None


def signed_in(request: Request) -> dict[str, Any] | None:
    """What the header shows of the signed-in caller (label and role), if anyone."""
    who = request.session.get("who")
    return who if request.session.get("token") and isinstance(who, dict) else None
