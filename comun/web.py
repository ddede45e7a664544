"""What every internal Flask app shares: gateway-only access, identity, uniform errors, health
split between "alive" and "healthy", RED metrics, and one access-log line per request with the
request id as the correlation of every line the request causes."""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from comun.ajustes import Ajustes
from comun.almacen import AlmacenOcupado
from comun.errores import ErrorDeDominio, errores_legibles
from comun.eventos import Datos, Evento, nuevo_evento
from comun.logs import con_correlacion, correlacion_actual, id_seguro, registrar_acceso
from comun.metricas import Metricas

log = logging.getLogger(__name__)
RUTAS_ABIERTAS = {"/alive", "/health", "/metrics"}
# Methods logged and counted by name; anything else a client makes up is one value.
METODOS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@dataclass(frozen=True)
class Identidad:
    """Who is calling, as the gateway authenticated it (headers X-Rol, X-Entidad, X-Unidad)."""

    rol: str
    entidad: str | None = None
    unidad: str | None = None


def cuerpo(modelo: type[BaseModel]) -> Any:
    """The request's JSON body validated against `modelo` (a ValidationError becomes a 422)."""
    datos = request.get_json(silent=True)
    if not isinstance(datos, dict):
        raise ErrorDeDominio(400, "cuerpo_invalido", "El cuerpo debe ser un objeto JSON.")
    return modelo.model_validate(datos)


def evento_de_la_solicitud(
    tipo: str, datos: Datos, fuente: str, codigo: str | None = None, **extra: Any
) -> Evento:
    """An event caused by this request: it carries the request id as its correlation."""
    return nuevo_evento(
        tipo, datos, fuente=fuente, codigo=codigo, correlacion=g.correlacion, **extra
    )


class _ConCorrelacion:
    """WSGI wrapper: the whole request (hooks, handler, error handlers) runs with its request id as
    the correlation of every log line. The gateway sends X-Request-Id; an id of another shape (or
    none, for a direct call) is replaced by a new one, never logged."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        recibido = environ.get("HTTP_X_REQUEST_ID", "")
        valor = id_seguro(recibido) or str(uuid.uuid4())
        with con_correlacion(valor):
            return self.wsgi_app(environ, start_response)


def identidad() -> Identidad:
    return g.identidad


def exigir_rol(*roles: str) -> Identidad:
    quien = identidad()
    if quien.rol not in roles:
        raise ErrorDeDominio(403, "prohibido", "No tiene permiso para esta operación.")
    return quien


def crear_app_base(
    servicio: str, ajustes: Ajustes, chequeos: dict[str, Callable[[], bool]]
) -> Flask:
    app = Flask(servicio)
    app.json.ensure_ascii = False
    app.wsgi_app = _ConCorrelacion(app.wsgi_app)  # type: ignore[method-assign]
    metricas = Metricas(servicio)
    token = ajustes.token_interno.get_secret_value().encode()

    @app.before_request
    def _antes() -> Response | None:
        g.inicio = time.perf_counter()
        g.correlacion = correlacion_actual()
        if request.path in RUTAS_ABIERTAS:
            return None
        recibido = request.headers.get("X-Token-Interno", "").encode()
        if not hmac.compare_digest(recibido, token):
            return _error(401, "no_autenticado", "Solo el gateway puede llamar a este servicio.")
        g.identidad = Identidad(
            rol=request.headers.get("X-Rol", "ciudadano"),
            entidad=request.headers.get("X-Entidad") or None,
            unidad=request.headers.get("X-Unidad") or None,
        )
        return None

    @app.after_request
    def _despues(respuesta: Response) -> Response:
        # The route template, never the path: códigos and tokens stay out of logs and labels.
        ruta = request.url_rule.rule if request.url_rule else "desconocida"
        metodo = request.method if request.method in METODOS else "OTRO"
        segundos = time.perf_counter() - g.inicio
        metricas.solicitud(metodo, ruta, respuesta.status_code, segundos)
        registrar_acceso(metodo, ruta, respuesta.status_code, segundos)
        return respuesta

    @app.errorhandler(ValidationError)
    def _invalido(exc: ValidationError):
        return _error(422, "datos_invalidos", "Hay datos inválidos.", errores_legibles(exc))

    @app.errorhandler(ErrorDeDominio)
    def _dominio(exc: ErrorDeDominio):
        return _error(exc.estado, exc.error, exc.mensaje)

    @app.errorhandler(AlmacenOcupado)
    def _ocupado(exc: AlmacenOcupado):
        respuesta, estado = _error(
            503, "ocupado", "El servicio está ocupado; intente nuevamente en unos segundos."
        )
        respuesta.headers["Retry-After"] = "2"
        return respuesta, estado

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _error(exc.code or 500, "http", exc.description or "Error")

    @app.errorhandler(Exception)
    def _inesperado(exc: Exception):
        log.exception("error inesperado")
        return _error(500, "error_interno", "Ocurrió un error interno; intente nuevamente.")

    @app.get("/alive")
    def alive():
        return {"estado": "vivo", "servicio": servicio}

    @app.get("/health")
    def health():
        resultados = {nombre: chequeo() for nombre, chequeo in chequeos.items()}
        sano = all(resultados.values())
        cuerpo = {"estado": "sano" if sano else "degradado", "dependencias": resultados}
        return cuerpo, 200 if sano else 503

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    return app


def _error(estado: int, error: str, mensaje: str, detalle: list | None = None):
    cuerpo: dict[str, Any] = {"error": error, "mensaje": mensaje}
    if detalle:
        cuerpo["detalle"] = detalle
    return jsonify(cuerpo), estado
