"""The browser pages' session: an encrypted cookie, so the gateway stays stateless.

The session holds the caller's token, the open case, the language and the page state (the
invoice, person or search being looked at), so that no ID ever travels in a URL. It is kept
client-side as one Fernet token (AES-CBC with HMAC-SHA256 and a timestamp): the browser can
neither read it (personal IDs, the bearer token) nor change it, and any worker that has the key
can read it. The cookie is HttpOnly, SameSite=Strict, and Secure when the page came over HTTPS.

The key is ``GATEWAY_SESSION_SECRET`` when set, else derived (HKDF) from the gateway's own
signing key, read on the first request, after the lifespan has made the demo PKI if it had to.
"""

from __future__ import annotations

import base64
import json
import secrets
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.keys import DemoPki

COOKIE: Final = "gateway_session"
MAX_AGE_SECONDS: Final = 8 * 3600
"""A working day: the session ends then even if the token lives longer."""


def session_key(settings: Settings) -> bytes:
    """The Fernet key of the session cookie: from the setting, else from the signing key."""
    if settings.session_secret:
        material = settings.session_secret.encode()
    else:
        material = _signing_key_file(settings).read_bytes()
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"gateway browser session"
    ).derive(material)
    return base64.urlsafe_b64encode(derived)


def _signing_key_file(settings: Settings) -> Path:
    if settings.signing_key is not None:
        return settings.signing_key
    return DemoPki(settings.data_dir / "pki").gateway_files[0]


class PageSessions:
    """ASGI middleware: ``scope["session"]`` read from the cookie, written back if changed.

    Starlette's ``request.session`` works on it. A cookie that cannot be decrypted, or is
    older than ``MAX_AGE_SECONDS``, is an empty session.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._fernet: Fernet | None = None

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(session_key(self.settings))
        return self._fernet

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = _cookie(scope)
        session = self._load(raw) if raw else {}
        scope["session"] = session
        before = json.dumps(session, sort_keys=True)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = json.dumps(scope["session"], sort_keys=True)
                if after != before:
                    headers = MutableHeaders(scope=message)
                    headers.append("Set-Cookie", self._cookie_header(scope))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, raw: str) -> dict[str, Any]:
        try:
            loaded = json.loads(self.fernet.decrypt(raw.encode(), ttl=MAX_AGE_SECONDS))
        except (InvalidToken, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _cookie_header(self, scope: Scope) -> str:
        session = scope["session"]
        flags = "Path=/; HttpOnly; SameSite=Strict"
        if scope.get("scheme") == "https":
            flags += "; Secure"
        if not session:
            return f"{COOKIE}=; Max-Age=0; {flags}"
        value = self.fernet.encrypt(json.dumps(session).encode()).decode()
        return f"{COOKIE}={value}; Max-Age={MAX_AGE_SECONDS}; {flags}"


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)
