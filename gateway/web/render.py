"""Rendering a page: the templates, the words of the session's language, and the headers
every page is sent with.

A page that the API refused is still a page: ``Problem`` carries the refusal's code and
message, and the template shows the code with its explanation in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from gateway.state import services_of
from gateway.web import formats
from gateway.web.caller import case_of, csrf_token, signed_in
from gateway.web.i18n import language_of, translator
from integrations.errors import GatewayError

PAGE_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal or an error as a page shows it: the code, the API's message, a hint."""

    code: str
    message: str
    hint: str = ""
    service: str = ""

    @classmethod
    def of(cls, error: GatewayError) -> Problem:
        return cls(error.code, error.message, error.hint)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("gateway.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=formats.day,
        moment=formats.moment,
        money=formats.money,
        number=formats.number,
        quantity=formats.quantity,
        month=formats.month,
    )
    return env


TEMPLATES: Final = Jinja2Templates(env=_environment())


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``template`` rendered in the session's language, with the page headers."""
    lang = language_of(request.session)
    flash = request.session.pop("flash", None) or {}
    flashed = [Problem(*problem) for problem in flash.get("problems", [])]
    shared = {
        "lang": lang,
        "t": translator(lang),
        "csrf": csrf_token(request),
        "who": signed_in(request),
        "case": case_of(request),
        "mode": services_of(request).settings.mode,
        "path": request.url.path,
        "done": flash.get("done", ""),
    }
    merged = {**shared, **(context or {})}
    merged["problems"] = [*flashed, *merged.get("problems", [])]
    response = TEMPLATES.TemplateResponse(request, template, merged, status_code=status)
    response.headers.update({**PAGE_HEADERS, **(headers or {})})
    return response


def refused(request: Request, problem: Problem, status: int) -> HTMLResponse:
    """A whole page saying what was refused and why."""
    return page(request, "refused.html", {"problems": [problem]}, status=status)


def see_other(path: str) -> Response:
    """After a POST: the browser GETs ``path`` (post/redirect/get; nothing in the URL)."""
    return RedirectResponse(path, status_code=303)
