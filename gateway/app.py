"""The public door: `/api/v1` with OpenAPI docs at `/api/v1/docs`.

    uvicorn gateway.app:crear_app --factory

Authenticates (API keys), authorizes every route, gives every request an id, limits bodies, and
forwards to the internal services with the identity they re-check.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from comun.almacen import esperar, responde
from comun.errores import traducir_errores
from comun.logs import configurar_logs
from comun.metricas import Metricas
from gateway import portal
from gateway.ajustes import AjustesGateway
from gateway.borde import API, Borde, metodos_permitidos, respuesta_error
from gateway.credenciales import Credencial, Verificador
from gateway.dependencias import Servicios, requiere
from gateway.limites import Limites
from gateway.rutas import (
    adjuntos,
    bandeja,
    encuestas,
    operacion,
    publico,
    reclamos,
    reportes,
    supervision,
    webhooks,
)

SERVICIO = "gateway"
# Error codes, and the Spanish message of an HTTPException raised with no text of its own.
ERRORES = {
    400: ("solicitud_invalida", "La solicitud no es válida."),
    401: ("no_autenticado", "Se requiere una clave de acceso (cabecera X-API-Key)."),
    403: ("prohibido", "Su credencial no permite esta operación."),
    404: ("no_encontrado", "Ruta no encontrada."),
    405: ("metodo_no_permitido", "Método no permitido."),
    409: ("conflicto", "La operación no es posible en el estado actual."),
    411: ("largo_requerido", "Indique el largo del cuerpo (Content-Length)."),
    413: ("cuerpo_muy_grande", "El cuerpo es demasiado grande."),
    415: ("tipo_no_soportado", "Tipo de contenido no soportado."),
    429: ("demasiadas_solicitudes", "Demasiadas solicitudes; intente más tarde."),
    502: ("servicio_fallo", "El servicio interno falló; intente nuevamente."),
    503: ("no_disponible", "El servicio no está disponible en este momento."),
}
FRASES = {estado.value: estado.phrase for estado in HTTPStatus}  # "Not Found", ...

DESCRIPCION = """\
Plataforma Digital Única de Reclamos: el Libro de Reclamaciones Digital del Estado peruano.
Registro, derivación, plazos, respuesta y encuesta de cada reclamo.

**Acceso.** El ciudadano usa las rutas públicas sin clave. La entidad, el supervisor (SGP) y el
operador envían su clave en la cabecera `X-API-Key`, tal cual, sin prefijo. Una clave que no se
verifica es un 401 también en las rutas públicas.

**Errores.** Todo 4xx y 5xx lleva el cuerpo `Error`: `{"error", "mensaje", "detalle"}`, con el
mensaje en castellano y, para datos inválidos, una línea por campo. Un 429 trae `Retry-After`.

**Reintentos.** Envíe `Idempotency-Key` en cada POST que crea o cambia algo: repetirlo con la
misma clave y el mismo cuerpo devuelve la primera respuesta.
"""
# ASCII names (generated clients make module names of them), described in Spanish.
ETIQUETAS = [
    {"name": "reclamos", "description": "El ciudadano registra, sigue, subsana o desiste."},
    {"name": "bandeja", "description": "Atiende y responde; observa, reasigna o traslada."},
    {"name": "encuestas", "description": "La encuesta de satisfacción y sus índices."},
    {"name": "operacion", "description": "Catálogo, calendario, plazos y entregas de correo."},
    {"name": "supervision", "description": "La SGP: reclamos vencidos e intervenciones."},
    {"name": "reportes", "description": "Cifras de reclamos, plazos y satisfacción (CSV o JSON)."},
    {"name": "publico", "description": "Datos abiertos por entidad y mes, sin datos personales."},
    {"name": "adjuntos", "description": "Archivos del reclamo: subir y descargar."},
    {"name": "webhooks", "description": "La entidad recibe los eventos de sus reclamos."},
]


def crear_app(ajustes: AjustesGateway | None = None) -> FastAPI:
    ajustes = ajustes or AjustesGateway()
    configurar_logs(SERVICIO, ajustes.log_level)
    # The edge logs each request with its route template (gateway/borde.py); uvicorn's own access
    # line would add the path, códigos and survey tokens in it, however the server is started.
    logging.getLogger("uvicorn.access").disabled = True
    db = ajustes.almacen(SERVICIO)
    esperar(db)
    metricas = Metricas(SERVICIO)
    urls = {
        "registro": ajustes.url_registro,
        "derivacion": ajustes.url_derivacion,
        "plazos": ajustes.url_plazos,
        "notificaciones": ajustes.url_notificaciones,
        "encuestas": ajustes.url_encuestas,
    }

    @asynccontextmanager
    async def vida(app: FastAPI):
        app.state.verificador = Verificador(db)
        app.state.limites = Limites.en_almacen(ajustes)  # counters every replica shares
        app.state.servicios = Servicios(
            urls, ajustes.token_interno.get_secret_value(), ajustes.timeout_servicios
        )
        yield
        await app.state.servicios.cerrar()

    # FastAPIOffline: FastAPI's docs page with Swagger UI's JS and CSS served from the package
    # (no CDN), under the API's /docs.
    app = FastAPIOffline(
        # An ASCII title: client generators make the package name from it (reclamos_pdr_client).
        title="Reclamos PDR",
        description=DESCRIPCION,
        version="1.0.0",
        contact=ajustes.contacto(),
        servers=[{"url": "/", "description": "Este gateway"}],
        openapi_tags=ETIQUETAS,
        # Operation ids are the route functions' names (registrar, listar_bandeja...): what a
        # generated client calls them.
        generate_unique_id_function=lambda ruta: ruta.name,
        docs_url=f"{API}/docs",
        redoc_url=None,
        openapi_url=f"{API}/openapi.json",
        static_url=f"{API}/docs/recursos",
        lifespan=vida,
    )
    # Request id, body limit, headers, metrics and access log: see gateway/borde.py.
    app.add_middleware(
        Borde,
        max_cuerpo=ajustes.max_cuerpo_bytes,
        max_cuerpo_adjuntos=ajustes.max_cuerpo_adjuntos_bytes,
        metricas=metricas,
    )

    @app.exception_handler(RequestValidationError)
    async def invalido(request: Request, exc: RequestValidationError):
        errores = [{**e, "loc": _campo(e)} for e in exc.errors()]
        return _invalido(traducir_errores(errores))

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException):
        if not _en_api(request):
            return request.app.state.paginas.error(request, exc.status_code)
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            # FastAPI's "There was an error parsing the body": bytes that are not UTF-8 text.
            return _invalido([{"campo": "cuerpo", "mensaje": "Debe ser JSON en texto UTF-8"}])
        error, mensaje = ERRORES.get(exc.status_code, ("error", "No se pudo atender la solicitud."))
        # Starlette's and FastAPI's own refusals carry the English phrase of their status.
        if isinstance(exc.detail, str) and exc.detail != FRASES.get(exc.status_code):
            mensaje = exc.detail
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not those of its first route
            headers["Allow"] = ", ".join(metodos_permitidos(request.app, request.scope))
        return respuesta_error(exc.status_code, error, mensaje, headers=headers)

    v1 = APIRouter(prefix=API)
    for modulo in (
        reclamos,
        bandeja,
        encuestas,
        operacion,
        supervision,
        reportes,
        publico,
        adjuntos,
        webhooks,
    ):
        v1.include_router(modulo.router)
    app.include_router(v1)
    # The web pages, on top of the same API (gateway/portal).
    portal.montar(app, ajustes.token_interno.get_secret_value(), ajustes.portal_cookies_seguras)

    @app.get("/alive", include_in_schema=False)
    def alive():
        return {"estado": "vivo", "servicio": SERVICIO}

    async def salud(request: Request) -> tuple[bool, dict[str, bool]]:
        async def vivo(url: str) -> bool:
            try:
                return (
                    await request.app.state.servicios.cliente.get(url + "/alive", timeout=2)
                ).is_success
            except Exception:
                return False

        # The ping blocks until the store answers or times out: in a thread, not on the loop.
        almacen, *servicios = await asyncio.gather(
            run_in_threadpool(responde, db), *(vivo(url) for url in urls.values())
        )
        dependencias = {"mongodb": almacen, **dict(zip(urls, servicios, strict=True))}
        return all(dependencias.values()), dependencias

    @app.get("/health", include_in_schema=False)
    async def health(request: Request):
        """Public: up or down only. The internal topology is for operators (below)."""
        sano, _ = await salud(request)
        return JSONResponse(
            {"estado": "sano" if sano else "degradado"}, status_code=200 if sano else 503
        )

    @app.get(f"{API}/operacion/salud", include_in_schema=False)
    async def salud_detallada(
        request: Request, _: Annotated[Credencial, Depends(requiere("operador"))]
    ):
        sano, dependencias = await salud(request)
        return JSONResponse(
            {"estado": "sano" if sano else "degradado", "dependencias": dependencias},
            status_code=200 if sano else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    def metrics():
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _en_api(request: Request) -> bool:
    ruta = request.url.path
    return ruta == API or ruta.startswith(API + "/") or ruta in ("/metrics", "/health", "/alive")


def _campo(error: dict) -> tuple:
    """Where a validation error is: body fields without the "body" prefix; a body that is not
    JSON at all is "cuerpo" (FastAPI gives the character position instead)."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        return ("cuerpo",)
    return loc[1:] if loc[:1] == ("body",) else loc


def _invalido(detalle: list[dict[str, str]]) -> JSONResponse:
    return respuesta_error(422, "datos_invalidos", "Hay datos inválidos.", detalle)
