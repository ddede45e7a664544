"""The gateway's edge: what every request goes through around its route (DESIGN.md §4).

One pure ASGI middleware, so that it sees the bytes a route really reads and every response,
errors included (an `@app.middleware("http")` sees neither: an exception escapes it uncounted as
Starlette's plain-text 500, and it cannot count the body as it is read):

- a request id of a safe shape (`comun.logs.FORMA_ID`) or a new one: it travels to the internal
  services, comes back in `X-Request-Id`, and is the correlation of every log line it causes;
- the body limit on the bytes actually read, whatever Content-Length or Transfer-Encoding say;
- a larger limit for multipart bodies on the upload routes only (`RUTAS_DE_ADJUNTOS`);
- `X-Content-Type-Options: nosniff` everywhere, `Cache-Control: no-store` on the API (its answers
  carry personal data) unless the route chose its own (open data is cacheable);
- one metric sample and one access-log line per request, with labels a client cannot multiply;
- an exception nobody handled becomes a JSON 500 in Spanish, logged and counted.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from comun.logs import con_correlacion, id_seguro, registrar_acceso
from comun.metricas import Metricas

API = "/api/v1"
# Metric labels and log fields take these as they are; any other method is "OTRO", or every
# made-up method would be a new series.
METODOS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CON_CUERPO = frozenset({"POST", "PUT", "PATCH"})
# Where files are uploaded (multipart): the hoja with its files, and files after filing; the
# entity's answer with its files; and the pages' forms that carry files (gateway/portal).
RUTAS_DE_ADJUNTOS = re.compile(
    rf"^{API}/reclamos/(con-adjuntos|[^/]+/adjuntos)$"
    rf"|^{API}/bandeja/[^/]+/adjuntos$"
    r"|^/(reclamos/nuevo|seguimiento/subsanacion)$"
    r"|^/personal/reclamos/[^/]+/(respuesta|adjuntos)$"
)

registro = logging.getLogger(__name__)


class CuerpoMuyGrande(HTTPException):
    # Raised from `receive` itself. FastAPI re-raises an HTTPException met while reading a body
    # (anything else becomes its own English 400), so the app's handler answers it in Spanish.
    def __init__(self) -> None:
        super().__init__(413, "El cuerpo es demasiado grande.")


def respuesta_error(
    estado: int, error: str, mensaje: str, detalle: list | None = None, headers: dict | None = None
) -> JSONResponse:
    """The documented error body: `{"error", "mensaje", "detalle"?: [{"campo", "mensaje"}]}`."""
    cuerpo: dict = {"error": error, "mensaje": mensaje}
    if detalle:
        cuerpo["detalle"] = detalle
    return JSONResponse(cuerpo, status_code=estado, headers=headers)


def metodos_permitidos(app: ASGIApp, scope: Scope) -> list[str]:
    """Every method some route of the app answers on this path. Starlette's 405 lists only the
    methods of the first route that matched the path (GET of `/encuestas/{token}`, not POST)."""
    rutas = getattr(getattr(app, "router", None), "routes", ())
    permitidos = []
    for metodo in METODOS:
        prueba = {"type": "http", "path": scope["path"], "method": metodo, "root_path": ""}
        if any(ruta.matches(dict(prueba))[0] == Match.FULL for ruta in rutas):
            permitidos.append(metodo)
    return permitidos


class Borde:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_cuerpo: int,
        metricas: Metricas,
        max_cuerpo_adjuntos: int | None = None,
    ) -> None:
        self.app = app
        self.max_cuerpo = max_cuerpo
        self.max_cuerpo_adjuntos = max_cuerpo_adjuntos or max_cuerpo
        self.metricas = metricas

    def _limite(self, scope: Scope) -> int:
        """The body limit of this request: larger only for a multipart upload of files."""
        tipo = Headers(scope=scope).get("content-type", "")
        if tipo.startswith("multipart/form-data") and RUTAS_DE_ADJUNTOS.match(scope["path"]):
            return self.max_cuerpo_adjuntos
        return self.max_cuerpo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inicio = time.perf_counter()
        pedida = scope["path"]
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id  # request.state.request_id
        en_api = scope["path"] == API or scope["path"].startswith(API + "/")
        limite = self._limite(scope)
        leidos = 0
        estado = 500  # until a response starts: what an exception ends in
        iniciada = False

        async def recibir() -> Message:
            nonlocal leidos
            mensaje = await receive()
            if mensaje["type"] == "http.request":
                leidos += len(mensaje.get("body", b""))
                if leidos > limite:
                    raise CuerpoMuyGrande
            return mensaje

        async def enviar(mensaje: Message) -> None:
            nonlocal estado, iniciada
            if mensaje["type"] == "http.response.start":
                iniciada, estado = True, mensaje["status"]
                cabeceras = MutableHeaders(scope=mensaje)
                cabeceras["X-Request-Id"] = request_id
                cabeceras["X-Content-Type-Options"] = "nosniff"
                if en_api and "cache-control" not in cabeceras:
                    cabeceras["Cache-Control"] = "no-store"
                if estado in (411, 413):
                    # The rest of the body is not wanted: closing stops the server reading it.
                    cabeceras["Connection"] = "close"
            await send(mensaje)

        with con_correlacion(request_id):
            try:
                rechazo = self._rechazo(scope, limite)
                if rechazo is not None:
                    await rechazo(scope, receive, enviar)
                else:
                    await self.app(scope, recibir, enviar)
            # A body read outside a route (inside one, the app's handler answered already).
            except CuerpoMuyGrande as exc:
                if iniciada:
                    raise
                await respuesta_error(413, "cuerpo_muy_grande", exc.detail)(scope, receive, enviar)
            except Exception as exc:
                # The type and the frames, not the message: it may quote a value of the request.
                traza = "".join(traceback.format_tb(exc.__traceback__))
                registro.error(
                    "error no controlado: %s", type(exc).__name__, extra={"traza": traza}
                )
                if iniciada:
                    raise
                await respuesta_error(
                    500, "error_interno", "Ocurrió un error interno; intente nuevamente."
                )(scope, receive, enviar)
            finally:
                metodo = scope["method"] if scope["method"] in METODOS else "OTRO"
                ruta = _ruta(scope, pedida, en_api)
                segundos = time.perf_counter() - inicio
                self.metricas.solicitud(metodo, ruta, estado, segundos)
                registrar_acceso(metodo, ruta, estado, segundos)

    def _rechazo(self, scope: Scope, limite: int) -> JSONResponse | None:
        """What the headers alone refuse, before any byte of the body is read."""
        largo = Headers(scope=scope).get("content-length")
        if largo and largo.isdigit() and int(largo) > limite:
            return respuesta_error(413, "cuerpo_muy_grande", "El cuerpo es demasiado grande.")
        if scope["method"] in CON_CUERPO and not (largo and largo.isdigit()):
            # A chunked body could be of any size before it is read: the length must be declared.
            return respuesta_error(
                411, "largo_requerido", "Indique el largo del cuerpo (Content-Length)."
            )
        return None


def _request_id(scope: Scope) -> str:
    # Headers arrive as bytes; Starlette decodes them as latin-1, so anything can be in there.
    dado = Headers(scope=scope).get("x-request-id", "")
    return id_seguro(dado) or str(uuid.uuid4())


def _ruta(scope: Scope, pedida: str, en_api: bool) -> str:
    """The route template, never the path: códigos and tokens stay out of labels and logs.
    The API's routers are included under /api/v1 and their routes know only their own part."""
    ruta = scope.get("route")
    if ruta is None:  # FastAPI sets it for its own routes, not for openapi.json or the docs' files
        prueba = {"type": "http", "path": pedida, "method": scope["method"], "root_path": ""}
        for propia in getattr(getattr(scope.get("app"), "router", None), "routes", ()):
            if isinstance(propia, Route | Mount) and propia.matches(prueba)[0] != Match.NONE:
                ruta = propia
                break
    plantilla = getattr(ruta, "path", None)
    if plantilla is None:
        return API + "/desconocida" if en_api else "desconocida"
    return API + plantilla if en_api and not plantilla.startswith(API) else plantilla
