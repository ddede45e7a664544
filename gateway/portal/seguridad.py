"""CSRF protection for every form, and the headers every page carries.

Double-submit, signed: a random value in an HttpOnly, SameSite=Lax cookie, and in each form a
token that is the HMAC of that value under a key derived from the gateway's secret. A request from
another site can neither read the cookie nor compute the token; a token from one browser does not
fit another's cookie. Staff sessions add their own binding (the token is computed over the session
id too), so signing in or out invalidates the forms of before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE_CSRF = "pdr_csrf"
CAMPO = "csrf"
# No script, style or image from another site; no framing; forms post only here.
CABECERAS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # pages show personal data: never kept by a shared cache
}


class Csrf:
    def __init__(self, secreto: str, cookie_segura: bool) -> None:
        self.clave = hmac.new(secreto.encode(), b"pdr-portal-csrf", hashlib.sha256).digest()
        self.cookie_segura = cookie_segura

    def semilla(self, request: Request) -> str:
        """This browser's value: the cookie's, or a new one (`poner_cookie` then sends it)."""
        actual = request.cookies.get(COOKIE_CSRF, "")
        if len(actual) == 43 and actual.replace("-", "").replace("_", "").isalnum():
            return actual
        nueva = getattr(request.state, "csrf_nueva", None) or secrets.token_urlsafe(32)
        request.state.csrf_nueva = nueva
        return nueva

    def token(self, request: Request, sesion: str = "") -> str:
        mensaje = f"{self.semilla(request)}|{sesion}".encode()
        return hmac.new(self.clave, mensaje, hashlib.sha256).hexdigest()

    def valido(self, request: Request, enviado: str | None, sesion: str = "") -> bool:
        if not enviado or COOKIE_CSRF not in request.cookies:
            return False
        return hmac.compare_digest(self.token(request, sesion), enviado)

    def segura(self, request: Request) -> bool:
        """Secure cookies behind TLS: set by the operator (a proxy ends TLS in front of us) or
        seen on the request itself."""
        return self.cookie_segura or request.url.scheme == "https"

    def poner_cookie(self, request: Request, respuesta: Response) -> None:
        nueva = getattr(request.state, "csrf_nueva", None)
        if nueva:
            respuesta.set_cookie(
                COOKIE_CSRF,
                nueva,
                httponly=True,
                samesite="lax",
                secure=self.segura(request),
                path="/",
            )
