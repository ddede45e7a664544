"""Staff sessions, kept on the server (the gateway's store, collection `sesiones`): signing out
revokes at once and every replica sees the same sessions. The browser holds only a random 256-bit
id in the `pdr_sesion` cookie (HttpOnly, SameSite=Lax, Secure behind TLS); the store holds its
SHA-256, so a copy of the store opens no session.

A session ends after 30 minutes without use or 8 hours after sign-in, whichever comes first; a new
id is issued at every sign-in (no fixation), and a deactivated account loses its sessions.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pymongo.database import Database
from starlette.concurrency import run_in_threadpool

from gateway.credenciales import Credencial
from gateway.portal import cuentas
from gateway.portal.cuentas import Cuenta, Reloj

COOKIE = "pdr_sesion"
COLECCION = "sesiones"
INACTIVIDAD_S = 30 * 60
MAXIMA_S = 8 * 3600
# `ultima` is written at most this often: a page view is not a write each time.
REFRESCO_S = 60
INGRESO = "/personal/ingresar"


def _huella(sesion_id: str) -> str:
    return hashlib.sha256(sesion_id.encode()).hexdigest()


@dataclass(frozen=True)
class Sesion:
    id: str
    cuenta: Cuenta

    @property
    def credencial(self) -> Credencial:
        return self.cuenta.credencial


class Sesiones:
    def __init__(self, db: Database, reloj: Reloj = time.time) -> None:
        self.db = db
        self.reloj = reloj

    def abrir(self, cuenta: Cuenta) -> str:
        sesion_id = secrets.token_urlsafe(32)
        ahora = self.reloj()
        self.db[COLECCION].insert_one(
            {"_id": _huella(sesion_id), "usuario": cuenta.usuario, "creada": ahora, "ultima": ahora}
        )
        return sesion_id

    def leer(self, sesion_id: str) -> Sesion | None:
        if not sesion_id or len(sesion_id) > 100:
            return None
        h = _huella(sesion_id)
        doc = self.db[COLECCION].find_one({"_id": h})
        if doc is None:
            return None
        ahora = self.reloj()
        if ahora - doc["ultima"] > INACTIVIDAD_S or ahora - doc["creada"] > MAXIMA_S:
            self.db[COLECCION].delete_one({"_id": h})
            return None
        cuenta = cuentas.activa(self.db, doc["usuario"])
        if cuenta is None:
            self.db[COLECCION].delete_one({"_id": h})
            return None
        if ahora - doc["ultima"] > REFRESCO_S:
            self.db[COLECCION].update_one({"_id": h}, {"$set": {"ultima": ahora}})
        return Sesion(sesion_id, cuenta)

    def cerrar(self, sesion_id: str) -> None:
        if sesion_id:
            self.db[COLECCION].delete_one({"_id": _huella(sesion_id)})


def de_la_app(request: Request) -> Sesiones:
    """The app's sessions, on the gateway's own store (the one its API keys live in)."""
    sesiones = getattr(request.app.state, "sesiones", None)
    if sesiones is None:
        sesiones = request.app.state.sesiones = Sesiones(request.app.state.verificador.db)
    return sesiones


def volver_seguro(volver: str | None, defecto: str = "/personal/bandeja") -> str:
    """Only a path of this site (never `//otro.sitio` or `https://...`)."""
    if not volver or not volver.startswith("/") or volver.startswith("//") or "\\" in volver:
        return defecto
    return volver


class IrAIngresar(Exception):
    """No valid session: the page answers with a redirect to sign in, then back."""

    def __init__(self, volver: str) -> None:
        self.volver = volver


async def a_ingresar(request: Request, exc: Exception) -> Response:
    volver = exc.volver if isinstance(exc, IrAIngresar) else "/"
    respuesta = RedirectResponse(f"{INGRESO}?volver={quote(volver, safe='/')}", status_code=303)
    respuesta.delete_cookie(COOKIE, path="/")
    return respuesta


async def sesion_actual(request: Request) -> Sesion | None:
    sesion_id = request.cookies.get(COOKIE, "")
    if not sesion_id:
        return None
    return await run_in_threadpool(de_la_app(request).leer, sesion_id)


async def requerida(request: Request) -> Sesion:
    """The page's dependency: the signed-in account, or a 303 to the sign-in page."""
    sesion = await sesion_actual(request)
    if sesion is None:
        volver = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise IrAIngresar(volver_seguro(volver))
    return sesion


ConSesion = Annotated[Sesion, Depends(requerida)]


def poner_cookie(request: Request, respuesta: Response, sesion_id: str) -> None:
    respuesta.set_cookie(
        COOKIE,
        sesion_id,
        max_age=MAXIMA_S,
        httponly=True,
        samesite="lax",
        secure=request.app.state.paginas.csrf.segura(request),
        path="/",
    )
