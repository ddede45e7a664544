"""The gateway's edge middleware on its own (no server, no store), and the Spanish text of every
validation error pydantic can raise (issue 7: findings 1 and 9)."""

from __future__ import annotations

import asyncio
import json
import re
import typing

import pytest
from pydantic_core import PydanticKnownError
from pydantic_core.core_schema import ErrorType
from starlette.responses import JSONResponse

from comun.errores import traducir_errores
from comun.metricas import Metricas
from gateway.borde import Borde

LIMITE = 1000
LIMITE_ADJUNTOS = 10 * LIMITE
TROZO = 64
MULTIPART = "multipart/form-data; boundary=x"


def correr(
    app,
    metodo: str,
    cabeceras: dict[str, str],
    trozos: int | None,
    ruta: str = "/api/v1/seguimiento",
) -> tuple[dict, int]:
    """Calls Borde(app) once; the client sends `trozos` chunks of TROZO bytes (None: without
    end). Returns the response (status, headers, body) and how many chunks were read."""
    leidos = 0
    enviado: dict = {"cuerpo": b""}

    async def receive():
        nonlocal leidos
        leidos += 1
        fin = trozos is not None and leidos >= trozos
        return {"type": "http.request", "body": b"x" * TROZO, "more_body": not fin}

    async def send(mensaje):
        if mensaje["type"] == "http.response.start":
            enviado["estado"] = mensaje["status"]
            enviado["cabeceras"] = {k.decode(): v.decode() for k, v in mensaje["headers"]}
        else:
            enviado["cuerpo"] += mensaje.get("body", b"")

    scope = {
        "type": "http",
        "method": metodo,
        "path": ruta,
        "headers": [(k.lower().encode(), v.encode()) for k, v in cabeceras.items()],
    }
    borde = Borde(
        app,
        max_cuerpo=LIMITE,
        max_cuerpo_adjuntos=LIMITE_ADJUNTOS,
        metricas=Metricas("prueba-borde"),
    )
    asyncio.run(borde(scope, receive, send))
    return enviado, leidos


async def lee_todo(scope, receive, send):
    """An app that reads the whole body, as a route does before validating it."""
    cuerpo = b""
    while True:
        mensaje = await receive()
        cuerpo += mensaje.get("body", b"")
        if not mensaje.get("more_body"):
            break
    await JSONResponse({"leido": len(cuerpo)})(scope, receive, send)


def test_un_cuerpo_sin_fin_que_declara_un_largo_pequeno_se_corta_al_pasar_el_limite():
    cabeceras = {"Content-Length": "10", "Transfer-Encoding": "chunked"}

    respuesta, leidos = correr(lee_todo, "POST", cabeceras, trozos=None)

    assert respuesta["estado"] == 413
    assert json.loads(respuesta["cuerpo"])["error"] == "cuerpo_muy_grande"
    assert respuesta["cabeceras"]["connection"] == "close"
    # One chunk past the limit, never more: what is held in memory is bounded by the limit.
    assert leidos == LIMITE // TROZO + 1


def test_un_cuerpo_dentro_del_limite_pasa_entero():
    respuesta, leidos = correr(lee_todo, "POST", {"Content-Length": "640"}, trozos=10)

    assert respuesta["estado"] == 200
    assert json.loads(respuesta["cuerpo"]) == {"leido": 640}
    assert leidos == 10


@pytest.mark.parametrize(
    ("metodo", "cabeceras", "estado"),
    [
        ("POST", {"Content-Length": str(LIMITE + 1)}, 413),
        ("GET", {"Content-Length": str(LIMITE + 1)}, 413),
        ("POST", {"Transfer-Encoding": "chunked"}, 411),
    ],
)
def test_lo_que_las_cabeceras_ya_rechazan_no_se_lee(metodo, cabeceras, estado):
    respuesta, leidos = correr(lee_todo, metodo, cabeceras, trozos=None)

    assert respuesta["estado"] == estado
    assert leidos == 0


@pytest.mark.parametrize("ruta", ["/api/v1/reclamos/con-adjuntos", "/api/v1/reclamos/R-1/adjuntos"])
def test_un_multipart_de_archivos_tiene_su_propio_limite(ruta):
    cuerpo = 5 * LIMITE  # over the JSON limit, under the one of files
    cabeceras = {"Content-Type": MULTIPART, "Content-Length": str(cuerpo)}

    respuesta, _ = correr(lee_todo, "POST", cabeceras, cuerpo // TROZO, ruta)
    assert respuesta["estado"] == 200

    sin_fin, leidos = correr(lee_todo, "POST", cabeceras | {"Content-Length": "10"}, None, ruta)
    assert sin_fin["estado"] == 413
    assert leidos == LIMITE_ADJUNTOS // TROZO + 1


@pytest.mark.parametrize(
    ("ruta", "tipo"),
    [
        ("/api/v1/reclamos/con-adjuntos", "application/json"),  # JSON is never that large
        ("/api/v1/seguimiento", MULTIPART),  # nor is any other route's body
        ("/api/v1/reclamos/R-1/adjuntos/a1", MULTIPART),
    ],
)
def test_fuera_de_las_subidas_de_archivos_rige_el_limite_comun(ruta, tipo):
    cabeceras = {"Content-Type": tipo, "Content-Length": str(5 * LIMITE)}
    respuesta, leidos = correr(lee_todo, "POST", cabeceras, None, ruta)
    assert respuesta["estado"] == 413
    assert leidos == 0


async def cacheable(scope, receive, send):
    await JSONResponse({}, headers={"Cache-Control": "public, max-age=300"})(scope, receive, send)


def test_la_api_no_se_guarda_en_cache_salvo_que_la_ruta_lo_diga():
    comun, _ = correr(lee_todo, "GET", {}, 1)
    propia, _ = correr(cacheable, "GET", {}, 1, "/api/v1/publico/indicadores")
    assert comun["cabeceras"]["cache-control"] == "no-store"
    assert propia["cabeceras"]["cache-control"] == "public, max-age=300"


# Errors whose text is written by the validator itself (in Spanish, in this code base).
DEL_VALIDADOR = {"value_error", "assertion_error"}
EN_INGLES = re.compile(r"\b(input|should|valid|field|required|must|is not|got)\b", re.I)


def error_conocido(tipo: str) -> PydanticKnownError:
    """pydantic's own error of type `tipo`, with whatever context it requires."""
    contexto: dict = {}
    while True:
        try:
            return PydanticKnownError(tipo, contexto or None)
        except TypeError as exc:  # "'gt' required in context", "'max_digits' ... must be a u64"
            clave = re.search(r"'(\w+)'", str(exc)).group(1)
            contexto[clave] = 1 if "must be" in str(exc) else "1"


@pytest.mark.parametrize("tipo", sorted(set(typing.get_args(ErrorType)) - DEL_VALIDADOR))
def test_cada_error_de_pydantic_tiene_su_mensaje_en_espanol(tipo: str):
    error = error_conocido(tipo)
    original = error.message()

    [traducido] = traducir_errores(
        [{"type": tipo, "loc": ("campo",), "msg": original, "ctx": error.context}]
    )

    assert traducido["campo"] == "campo"
    assert traducido["mensaje"] and traducido["mensaje"] != original
    assert not EN_INGLES.search(traducido["mensaje"]), traducido["mensaje"]


def test_el_mensaje_de_un_validador_propio_se_conserva_sin_prefijo():
    [traducido] = traducir_errores(
        [
            {
                "type": "value_error",
                "loc": ("ocurrido_en",),
                "msg": "Value error, No puede ser futura",
            }
        ]
    )

    assert traducido == {"campo": "ocurrido_en", "mensaje": "No puede ser futura"}
