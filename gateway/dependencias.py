"""The gateway's dependencies: who is calling (API key → role), and the internal services."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Depends, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader
from starlette.background import BackgroundTask

from gateway.credenciales import Credencial

_clave_api = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Clave de la entidad, supervisor u operador"
)
CIUDADANO = Credencial(rol="ciudadano")
CREDENCIAL_DEL_PORTAL = "pdr.credencial"  # the ASGI scope key gateway.portal.api sets


def _verificar(request: Request, clave: str | None) -> Credencial:
    """Anonymous callers are citizens; a key that does not verify is refused, not downgraded.
    The web pages call in-process with the signed-in staff member's credential in the ASGI
    scope (gateway.portal.api), a place no HTTP request can write."""
    de_la_sesion = request.scope.get(CREDENCIAL_DEL_PORTAL)
    if isinstance(de_la_sesion, Credencial):
        return de_la_sesion
    if not clave:
        return CIUDADANO
    credencial = request.app.state.verificador.verificar(clave)
    if credencial is None:
        raise HTTPException(401, "Clave de acceso inválida o revocada.")
    return credencial


def quien_llama(
    request: Request, clave: Annotated[str | None, Depends(_clave_api)] = None
) -> Credencial:
    """Staff routes: the key is the document's security scheme (`X-API-Key`)."""
    return _verificar(request, clave)


def quien_publico(
    request: Request,
    clave: Annotated[str | None, Header(alias="X-API-Key", include_in_schema=False)] = None,
) -> Credencial:
    """Public routes: a citizen calls without a key, so the document declares no security
    there (a generated client then needs no credentials); staff may still send theirs, and
    one that does not verify is a 401 all the same."""
    return _verificar(request, clave)


def requiere(*roles: str):
    def dependencia(quien: Annotated[Credencial, Depends(quien_llama)]) -> Credencial:
        if quien.rol == "ciudadano":
            raise HTTPException(
                401,
                "Se requiere una clave de acceso (cabecera X-API-Key).",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        if quien.rol not in roles:
            raise HTTPException(403, "Su credencial no permite esta operación.")
        return quien

    return dependencia


class Servicios:
    """Calls to internal services with the gateway's identity headers and a timeout."""

    def __init__(self, urls: dict[str, str], token: str, timeout: float) -> None:
        self.urls = urls
        self.token = token
        self.cliente = httpx.AsyncClient(timeout=timeout)

    async def llamar(
        self,
        request: Request,
        servicio: str,
        metodo: str,
        ruta: str,
        quien: Credencial,
        json: Any = None,
        params: dict | None = None,
        idempotencia: str | None = None,
    ) -> JSONResponse:
        peticion = self.cliente.build_request(
            metodo,
            self.urls[servicio] + ruta,
            json=json,
            params=params,
            headers=self.cabeceras(request, quien, idempotencia),
        )
        r = await self.enviar(peticion)
        return JSONResponse(r.json(), status_code=r.status_code)

    async def enviar(self, peticion: httpx.Request, stream: bool = False) -> httpx.Response:
        """Sends `peticion` to an internal service: one that does not answer is a 503 for the
        caller, one that fails (5xx) a 502; any other answer is the service's."""
        try:
            r = await self.cliente.send(peticion, stream=stream)
        except httpx.HTTPError:
            raise HTTPException(
                503, "El servicio no está disponible en este momento; intente en unos minutos."
            ) from None
        if r.status_code >= 500:
            await r.aclose()
            raise HTTPException(502, "El servicio interno falló; intente nuevamente.")
        return r

    def cabeceras(
        self, request: Request, quien: Credencial, idempotencia: str | None = None
    ) -> dict[str, str]:
        """The gateway's identity for an internal service: its token, the request id, and who
        calls (the service checks the role, entity and unit again)."""
        cabeceras = {
            "X-Token-Interno": self.token,
            "X-Request-Id": request.state.request_id,
            "X-Rol": quien.rol,
            "X-Entidad": quien.entidad or "",
            "X-Unidad": quien.unidad or "",
        }
        if idempotencia:
            cabeceras["Idempotency-Key"] = idempotencia
        return cabeceras

    async def enviar_archivos(
        self,
        request: Request,
        servicio: str,
        ruta: str,
        quien: Credencial,
        campos: dict[str, str],
        archivos: list[tuple[str, str, bytes]],
        idempotencia: str | None = None,
    ) -> JSONResponse:
        """POSTs a multipart form (`campos` and files as (field, name, bytes)); answers as
        `llamar` does."""
        partes = [
            (campo, (nombre, datos, "application/octet-stream"))
            for campo, nombre, datos in archivos
        ]
        peticion = self.cliente.build_request(
            "POST",
            self.urls[servicio] + ruta,
            data=campos,
            files=partes,
            headers=self.cabeceras(request, quien, idempotencia),
        )
        r = await self.enviar(peticion)
        return JSONResponse(r.json(), status_code=r.status_code)

    async def descargar(
        self,
        request: Request,
        servicio: str,
        metodo: str,
        ruta: str,
        quien: Credencial,
        json: Any = None,
        cabeceras_pasan: tuple[str, ...] = (),
    ) -> Response:
        """A file streamed back from a service as it arrives (never whole in memory); an error
        of the service comes back as its JSON. `cabeceras_pasan`: the service's headers kept."""
        peticion = self.cliente.build_request(
            metodo,
            self.urls[servicio] + ruta,
            json=json,
            headers=self.cabeceras(request, quien, None),
        )
        r = await self.enviar(peticion, stream=True)
        if r.status_code != 200:
            await r.aread()
            await r.aclose()
            return JSONResponse(r.json(), status_code=r.status_code)
        pasan = {k: r.headers[k] for k in cabeceras_pasan if k in r.headers}
        return StreamingResponse(
            r.aiter_raw(),
            media_type=r.headers.get("content-type", "application/octet-stream"),
            headers=pasan,
            background=BackgroundTask(r.aclose),
        )

    async def cerrar(self) -> None:
        await self.cliente.aclose()


def servicios(request: Request) -> Servicios:
    return request.app.state.servicios


Quien = Annotated[Credencial, Depends(quien_publico)]
# A código in a path: checked here so nothing else travels into an internal URL.
Codigo = Annotated[str, Path(pattern=r"^R(-[2-9A-Z]{4}){3}$", description="Código del reclamo")]
Internos = Annotated[Servicios, Depends(servicios)]
# Safe retries of POSTs that create or change something (comun.idempotencia keeps the responses).
ClaveIdempotencia = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="Clave única por operación (p. ej. un UUID). Si no recibió respuesta, "
        "reintente con la misma clave y el mismo cuerpo: obtendrá la primera respuesta y la "
        "operación no se repite (24 horas). La misma clave con otro cuerpo da 422.",
    ),
]
RequestId = Annotated[str | None, Header(alias="X-Request-Id", include_in_schema=False)]
