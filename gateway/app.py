"""The public door: `/api/v1` with OpenAPI docs at `/api/v1/docs`.

    uvicorn gateway.app:crear_app --factory

Authenticates (API keys), authorizes every route, gives every request an id, limits bodies, and
forwards to the internal services with the identity they re-check.
"""

from __future__ import annotations

import time
import uuid
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from comun.almacen import esperar, responde
from comun.errores import traducir_errores
from comun.logs import configurar_logs
from comun.metricas import Metricas
from gateway.ajustes import AjustesGateway
from gateway.credenciales import Verificador
from gateway.dependencias import Servicios
from gateway.limites import Limites, Ventana
from gateway.rutas import bandeja, encuestas, operacion, reclamos, supervision

SERVICIO = "gateway"
API = "/api/v1"


def crear_app(ajustes: AjustesGateway | None = None) -> FastAPI:
    ajustes = ajustes or AjustesGateway()
    configurar_logs(SERVICIO, ajustes.log_level)
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
        app.state.limites = Limites(
            reclamos=Ventana(ajustes.limite_reclamos_por_hora, 3600),
            fallos_seguimiento=Ventana(ajustes.limite_fallos_seguimiento_por_hora, 3600),
        )
        app.state.servicios = Servicios(
            urls, ajustes.token_interno.get_secret_value(), ajustes.timeout_servicios
        )
        yield
        await app.state.servicios.cerrar()

    app = FastAPI(
        title="Plataforma Digital Única de Reclamos",
        description="Libro de Reclamaciones Digital del Estado peruano: registro, derivación, "
        "plazos, respuesta y encuesta de cada reclamo.",
        version="1.0.0",
        docs_url=f"{API}/docs",
        redoc_url=None,
        openapi_url=f"{API}/openapi.json",
        lifespan=vida,
    )

    @app.middleware("http")
    async def contexto(request: Request, siguiente):
        inicio = time.perf_counter()
        request.state.request_id = request.headers.get("X-Request-Id") or str(uuid.uuid4())
        largo = request.headers.get("content-length")
        if largo and largo.isdigit() and int(largo) > ajustes.max_cuerpo_bytes:
            respuesta: Response = _error(413, "cuerpo_muy_grande", "El cuerpo es demasiado grande.")
        elif request.method in {"POST", "PUT", "PATCH"} and not (largo and largo.isdigit()):
            # A chunked body could be of any size before it is read: the length must be declared.
            respuesta = _error(
                411, "largo_requerido", "Indique el largo del cuerpo (Content-Length)."
            )
        else:
            respuesta = await siguiente(request)
        # The route template, never the path: códigos and tokens stay out of metric labels.
        # Routers are mounted under /api/v1, and their routes know only their own part.
        ruta = getattr(request.scope.get("route"), "path", "desconocida")
        if request.url.path.startswith(API):
            ruta = API + ruta
        metricas.solicitud(
            request.method, ruta, respuesta.status_code, time.perf_counter() - inicio
        )
        respuesta.headers["X-Request-Id"] = request.state.request_id
        return respuesta

    @app.exception_handler(RequestValidationError)
    async def invalido(request: Request, exc: RequestValidationError):
        errores = [
            {
                **e,
                "loc": tuple(e.get("loc", ()))[1:]
                if e.get("loc", ("",))[0] == "body"
                else tuple(e.get("loc", ())),
            }
            for e in exc.errors()
        ]
        return _error(422, "datos_invalidos", "Hay datos inválidos.", traducir_errores(errores))

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException):
        codigos = {
            401: "no_autenticado",
            403: "prohibido",
            404: "no_encontrado",
            429: "demasiadas_solicitudes",
        }
        mensaje = exc.detail if isinstance(exc.detail, str) else "Error"
        if exc.status_code == 404 and mensaje == "Not Found":
            mensaje = "Ruta no encontrada."
        elif exc.status_code == 405:
            mensaje = "Método no permitido."
        return _error(
            exc.status_code, codigos.get(exc.status_code, "error"), mensaje, headers=exc.headers
        )

    v1 = APIRouter(prefix=API)
    for modulo in (reclamos, bandeja, encuestas, operacion, supervision):
        v1.include_router(modulo.router)
    app.include_router(v1)

    @app.get("/alive", include_in_schema=False)
    def alive():
        return {"estado": "vivo", "servicio": SERVICIO}

    @app.get("/health", include_in_schema=False)
    async def health(request: Request):
        dependencias = {"mongodb": responde(db)}
        cliente = request.app.state.servicios.cliente
        for nombre, url in urls.items():
            try:
                dependencias[nombre] = (await cliente.get(url + "/alive", timeout=2)).is_success
            except Exception:
                dependencias[nombre] = False
        sano = all(dependencias.values())
        return JSONResponse(
            {"estado": "sano" if sano else "degradado", "dependencias": dependencias},
            status_code=200 if sano else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    def metrics():
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _error(
    estado: int, error: str, mensaje: str, detalle: list | None = None, headers: dict | None = None
) -> JSONResponse:
    cuerpo: dict = {"error": error, "mensaje": mensaje}
    if detalle:
        cuerpo["detalle"] = detalle
    return JSONResponse(cuerpo, status_code=estado, headers=headers)
