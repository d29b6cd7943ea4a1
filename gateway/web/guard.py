"""Every page handler behind one guard: a refusal becomes a page that says so.

No signed-in caller: to the sign-in page. A token the API no longer accepts (expired, keys
rotated): signed out, and the sign-in page says why. Any other refusal of the API (the
access service's decision, a bad input, the access log down): the page with the refusal's
code and message, at the status the API answers with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.errors import Refusal, status_of_error
from gateway.web.caller import CsrfRejected, SignInRequired
from gateway.web.render import Problem, refused, see_other
from integrations.access import AuthenticationError
from integrations.errors import GatewayError

Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler) -> Handler:
    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInRequired:
            return see_other("/signin")
        except CsrfRejected:
            problem = Problem(CsrfRejected.code, "the form was not sent from this session")
            return refused(request, problem, 403)
        except AuthenticationError as exc:
            sign_out(request)
            request.session["notice"] = exc.code
            return see_other("/signin")
        except GatewayError as exc:
            return refused(request, Problem.of(exc), status_of_error(exc))
        except Refusal as refusal:
            problem = Problem(refusal.code, refusal.message, refusal.hint)
            return refused(request, problem, refusal.status)

    return endpoint


def sign_out(request: Request) -> None:
    """Forget everything but the language."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
