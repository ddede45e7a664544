"""The pages' client of the public API, in-process: every page reads and writes through
`/api/v1`, with its validation, authorization, limits and Spanish errors, without a network hop.

The citizen's address goes as the request's client (the per-address limits count the person,
not the gateway); a signed-in staff member's identity goes in the ASGI scope (`CREDENCIAL`), which
no HTTP request can set: `gateway.dependencias` takes it from there before looking at a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.borde import API
from gateway.credenciales import Credencial
from gateway.dependencias import CREDENCIAL_DEL_PORTAL as CREDENCIAL


@dataclass
class Respuesta:
    estado: int
    datos: Any
    cabeceras: httpx.Headers
    contenido: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.estado < 300

    @property
    def mensaje(self) -> str:
        """The API's Spanish message of an error (`Error.mensaje`)."""
        return self.datos.get("mensaje", "") if isinstance(self.datos, dict) else ""

    def errores_por_campo(self) -> dict[str, str]:
        """A 422's `detalle` as {"ciudadano.documento.numero": "mensaje"}: shown beside each
        field of the form that sent it."""
        if not isinstance(self.datos, dict):
            return {}
        return {d["campo"]: d["mensaje"] for d in self.datos.get("detalle", []) if "campo" in d}


class _ConCredencial:
    def __init__(self, app: ASGIApp, credencial: Credencial | None) -> None:
        self.app = app
        self.credencial = credencial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.credencial is not None:
            scope[CREDENCIAL] = self.credencial
        await self.app(scope, receive, send)


class ApiInterna:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def llamar(
        self,
        request: Request,
        metodo: str,
        ruta: str,
        credencial: Credencial | None = None,
        **kwargs: Any,
    ) -> Respuesta:
        """`ruta` under /api/v1; `kwargs` as httpx takes them (json, params, data, files,
        headers: e.g. a form's Idempotency-Key)."""
        # The person's address as the limits see it (a trusted proxy's X-Forwarded-For read).
        par = request.client.host if request.client else None
        cliente = request.app.state.limites.direccion(
            par, request.headers.getlist("x-forwarded-for")
        )
        transporte = httpx.ASGITransport(
            app=_ConCredencial(self.app, credencial), client=(cliente, 0)
        )
        cabeceras = {
            "X-Request-Id": getattr(request.state, "request_id", ""),
            **kwargs.pop("headers", {}),
        }
        async with httpx.AsyncClient(
            transport=transporte, base_url="http://portal.interno"
        ) as http:
            r = await http.request(metodo, API + ruta, headers=cabeceras, **kwargs)
        tipo = r.headers.get("content-type", "")
        datos = r.json() if tipo.startswith("application/json") and r.content else None
        return Respuesta(r.status_code, datos, r.headers, r.content)
