"""The gateway's edge (issue 7: findings 1, 2, 3, 6, 8b, 9, 12a): body limit on the bytes read,
request ids, bounded metric labels, security headers, self-served docs, a public health that
says only up or down, Spanish errors in the documented shape, `Allow` on 405, and one access-log
line per request. The gateway runs on the test's store in front of a stand-in internal service
(the same small Flask app for all five) that records the request id it is given."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from flask import Flask, jsonify, request
from prometheus_client.parser import text_string_to_metric_families

import gateway.app
from gateway import credenciales
from gateway.ajustes import AjustesGateway
from gateway.app import crear_app
from tests.conftest import _puerto_libre
from tests.integracion.servicios import TOKEN, servido

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(120)]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LIMITE = 100_000
TOKEN_ENCUESTA = "t" * 24  # the shape of a survey token: the route matches it
SERVICIOS = ("registro", "derivacion", "plazos", "notificaciones", "encuestas")


@dataclass
class Interno:
    """The stand-in internal service: what it was sent, and whether it answers garbage."""

    url: str = ""
    request_ids: list[str] = field(default_factory=list)
    roto: bool = False


@pytest.fixture
def interno() -> Iterator[Interno]:
    estado = Interno()
    app = Flask("interno")

    @app.get("/alive")
    def alive():
        return jsonify(estado="vivo")

    @app.get("/entidades")
    def entidades():
        estado.request_ids.append(request.headers.get("X-Request-Id", ""))
        if estado.roto:
            return "<html>no es JSON</html>", 200
        return jsonify([])

    with servido(app) as url:
        estado.url = url
        yield estado


def ajustes_de(mongo_url: str, db, url: str, **urls: str) -> AjustesGateway:
    return AjustesGateway(
        mongo_url=mongo_url,
        mongo_db=db.name,
        token_interno=TOKEN,
        max_cuerpo_bytes=LIMITE,
        **{f"url_{nombre}": urls.get(nombre, url) for nombre in SERVICIOS},
    )


@pytest.fixture
def api(mongo_url, db, interno: Interno) -> Iterator[TestClient]:
    app = crear_app(ajustes_de(mongo_url, db, interno.url))
    with TestClient(app, raise_server_exceptions=False) as cliente:
        yield cliente


@contextmanager
def servido_asgi(app) -> Iterator[tuple[str, int]]:
    """The gateway behind a real uvicorn (its HTTP parser and flow control), on a free port."""
    puerto = _puerto_libre()
    servidor = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=puerto, log_config=None, lifespan="on")
    )
    hilo = threading.Thread(target=servidor.run, daemon=True)
    hilo.start()
    limite = time.monotonic() + 30
    while not servidor.started:
        assert hilo.is_alive() and time.monotonic() < limite, "uvicorn no arrancó"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", puerto
    finally:
        servidor.should_exit = True
        hilo.join(timeout=10)


def muestras(api: TestClient, nombre: str = "http_solicitudes_total") -> list[dict[str, str]]:
    texto = api.get("/metrics").text
    return [
        muestra.labels | {"valor": muestra.value}
        for familia in text_string_to_metric_families(texto)
        for muestra in familia.samples
        if muestra.name == nombre and muestra.labels.get("servicio") == "gateway"
    ]


def es_error_documentado(cuerpo: dict) -> bool:
    claves = set(cuerpo)
    return (
        {"error", "mensaje"} <= claves <= {"error", "mensaje", "detalle"}
        and isinstance(cuerpo["error"], str)
        and isinstance(cuerpo["mensaje"], str)
        and all(set(d) == {"campo", "mensaje"} for d in cuerpo.get("detalle", []))
    )


# --- 1. The body limit holds on the bytes read ---------------------------------------------


def test_un_cuerpo_chunked_que_declara_un_largo_pequeno_recibe_413_sin_leerse_entero(
    mongo_url, db, interno: Interno
):
    """Both Transfer-Encoding: chunked and Content-Length: 10: the server frames the body as
    chunked (the length is ignored), so only counting the bytes read can stop it."""
    app = crear_app(ajustes_de(mongo_url, db, interno.url))
    total = 40 * 1024 * 1024
    trozo = b"x" * 65536
    respuesta = bytearray()
    with servido_asgi(app) as (host, puerto), socket.create_connection((host, puerto)) as s:
        s.settimeout(10)

        def leer():
            try:
                while datos := s.recv(65536):
                    respuesta.extend(datos)
            except OSError:
                pass

        lector = threading.Thread(target=leer, daemon=True)
        lector.start()
        s.sendall(
            b"POST /api/v1/seguimiento HTTP/1.1\r\nHost: prueba\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        enviados = 0
        try:
            while enviados < total:
                s.sendall(b"%x\r\n%s\r\n" % (len(trozo), trozo))
                enviados += len(trozo)
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the gateway answered and closed: it does not read the rest
        lector.join(timeout=10)

    cabecera, _, cuerpo = bytes(respuesta).partition(b"\r\n\r\n")
    assert cabecera.startswith(b"HTTP/1.1 413"), cabecera[:200]
    assert json.loads(cuerpo)["error"] == "cuerpo_muy_grande"
    # Stopped as soon as the limit was passed, not after reading the 40 MB (what is left is
    # what the socket buffers took before the connection was closed).
    assert enviados < total / 2


def test_un_cuerpo_que_declara_mas_que_el_limite_recibe_413(api: TestClient):
    r = api.post("/api/v1/seguimiento", content=b"{" + b" " * (LIMITE + 10) + b"}")

    assert r.status_code == 413
    assert r.json()["error"] == "cuerpo_muy_grande"
    assert es_error_documentado(r.json())


# --- 2. Request ids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "dado",
    [b"caf\xe9", b"a b", b"x" * 101, b"id\x01control", b"{json}"],
    ids=["latin1", "espacio", "largo", "control", "llaves"],
)
def test_un_request_id_de_forma_no_segura_se_reemplaza_por_uno_nuevo(
    api: TestClient, interno: Interno, dado: bytes
):
    r = api.get("/api/v1/entidades", headers={"X-Request-Id": dado})

    assert r.status_code == 200, r.text
    nuevo = r.headers["X-Request-Id"]
    assert UUID.match(nuevo)
    assert interno.request_ids == [nuevo]  # the internal service got the same new id


def test_un_request_id_seguro_se_conserva(api: TestClient, interno: Interno):
    dado = "web-01:4f2a.9_b"
    r = api.get("/api/v1/entidades", headers={"X-Request-Id": dado})

    assert r.status_code == 200
    assert r.headers["X-Request-Id"] == dado
    assert interno.request_ids == [dado]


def test_un_error_inesperado_es_un_500_json_en_espanol_se_cuenta_y_se_registra(
    mongo_url, db, interno: Interno, capsys: pytest.CaptureFixture
):
    interno.roto = True  # an internal answer that is not JSON
    app = crear_app(ajustes_de(mongo_url, db, interno.url))  # logs to the captured stdout
    with TestClient(app, raise_server_exceptions=False) as api:
        antes = [m for m in muestras(api) if m["ruta"] == "/api/v1/entidades"]
        capsys.readouterr()
        r = api.get("/api/v1/entidades")
        salida = capsys.readouterr().out
        despues = [m for m in muestras(api) if m["ruta"] == "/api/v1/entidades"]

    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/json")
    assert es_error_documentado(r.json()) and r.json()["error"] == "error_interno"
    assert UUID.match(r.headers["X-Request-Id"])
    contados = [sum(m["valor"] for m in x if m["estado"] == "500") for x in (antes, despues)]
    assert contados[1] == contados[0] + 1
    lineas = [json.loads(linea) for linea in salida.splitlines() if linea.startswith("{")]
    [error] = [linea for linea in lineas if linea["nivel"] == "ERROR"]
    assert error["correlacion"] == r.headers["X-Request-Id"]
    assert "JSONDecodeError" in error["message"] and "traza" in error


# --- 3. Metric labels a client cannot multiply ---------------------------------------------


def test_metodos_inventados_y_rutas_desconocidas_caen_en_un_solo_valor(api: TestClient):
    inventados = [f"INVENTADO{n}" for n in range(5)]
    for metodo in inventados:
        api.request(metodo, "/api/v1/entidades")
    api.get("/api/v1/no-existe/uno")
    api.get("/api/v1/no-existe/dos")
    api.get("/fuera/de/la/api")
    api.get("/api/v1/openapi.json")  # routes of Starlette's own, not FastAPI's
    api.get("/api/v1/docs/recursos/swagger-ui.css")

    series = muestras(api)
    metodos = {m["metodo"] for m in series}
    rutas = {m["ruta"] for m in series}
    assert not any(metodo.startswith("INVENTADO") for metodo in metodos)
    otro = [m for m in series if m["metodo"] == "OTRO" and m["ruta"] == "/api/v1/entidades"]
    assert sum(m["valor"] for m in otro) >= len(inventados)
    assert "/api/v1/desconocida" in rutas and "desconocida" in rutas
    assert not any("no-existe" in ruta or "fuera" in ruta for ruta in rutas)
    assert "/api/v1desconocida" not in rutas
    assert {"/api/v1/openapi.json", "/api/v1/docs/recursos"} <= rutas
    assert not any(ruta.endswith(".css") for ruta in rutas)


# --- 6. Headers and self-served docs --------------------------------------------------------


def test_cabeceras_de_seguridad_en_cada_respuesta(api: TestClient):
    de_la_api = [
        api.get("/api/v1/entidades"),
        api.get("/api/v1/no-existe"),
        api.post("/api/v1/seguimiento", json={}),
        api.get("/api/v1/bandeja"),
        api.request("OPTIONS", f"/api/v1/encuestas/{TOKEN_ENCUESTA}"),
    ]
    fuera = [api.get("/health"), api.get("/alive"), api.get("/metrics")]

    assert [r.status_code for r in de_la_api] == [200, 404, 422, 401, 405]
    for r in de_la_api:
        assert r.headers.get("Cache-Control") == "no-store", r.url
    for r in de_la_api + fuera:
        assert r.headers.get("X-Content-Type-Options") == "nosniff", r.url


def test_la_documentacion_y_sus_recursos_los_sirve_el_gateway(api: TestClient):
    pagina = api.get("/api/v1/docs")

    assert pagina.status_code == 200
    enlaces = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", pagina.text)
    enlaces += re.findall(r"""url\s*:\s*["']([^"']+)["']""", pagina.text)
    assert any(e.endswith(".js") for e in enlaces) and any(e.endswith(".css") for e in enlaces)
    for enlace in enlaces:
        assert enlace.startswith("/"), f"{enlace} no lo sirve el gateway"
        assert api.get(enlace).status_code == 200, enlace
    assert "cdn" not in pagina.text.lower()


# --- 8b, 12a. Health: up or down in public, details for operators, never blocking -----------


def test_health_publico_dice_solo_si_esta_arriba(mongo_url, db, interno: Interno):
    caido = f"http://127.0.0.1:{_puerto_libre()}"
    with TestClient(crear_app(ajustes_de(mongo_url, db, interno.url))) as sano:
        r = sano.get("/health")
        assert r.status_code == 200 and r.json() == {"estado": "sano"}
    app = crear_app(ajustes_de(mongo_url, db, interno.url, plazos=caido))
    with TestClient(app) as degradado:
        r = degradado.get("/health")
        assert r.status_code == 503 and r.json() == {"estado": "degradado"}


def test_el_detalle_de_salud_es_para_operadores(mongo_url, db, interno: Interno):
    caido = f"http://127.0.0.1:{_puerto_libre()}"
    operador = credenciales.crear(db, "operador", "Operador de prueba")
    entidad = credenciales.crear(db, "entidad", "Mesa de partes", entidad="minsa")
    app = crear_app(ajustes_de(mongo_url, db, interno.url, plazos=caido))
    with TestClient(app) as api:
        r = api.get("/api/v1/operacion/salud", headers={"X-API-Key": operador})
        sin_clave = api.get("/api/v1/operacion/salud")
        de_entidad = api.get("/api/v1/operacion/salud", headers={"X-API-Key": entidad})

    assert r.status_code == 503
    assert r.json() == {
        "estado": "degradado",
        "dependencias": {
            "mongodb": True,
            "registro": True,
            "derivacion": True,
            "plazos": False,
            "notificaciones": True,
            "encuestas": True,
        },
    }
    assert sin_clave.status_code == 401 and es_error_documentado(sin_clave.json())
    assert de_entidad.status_code == 403 and es_error_documentado(de_entidad.json())


def test_health_no_detiene_las_demas_solicitudes_mientras_el_almacen_no_responde(
    mongo_url, db, interno: Interno, monkeypatch: pytest.MonkeyPatch
):
    """A store that does not answer makes its ping wait (up to the driver's timeout): that wait
    must not stall the event loop, i.e. every other request."""

    def ping_lento(_db) -> bool:
        time.sleep(1.5)
        return False

    monkeypatch.setattr(gateway.app, "responde", ping_lento)
    app = crear_app(ajustes_de(mongo_url, db, interno.url))
    with servido_asgi(app) as (host, puerto):
        base = f"http://{host}:{puerto}"
        salud: list[httpx.Response] = []
        hilo = threading.Thread(target=lambda: salud.append(httpx.get(base + "/health")))
        hilo.start()
        time.sleep(0.3)  # /health is waiting on the store now
        inicio = time.monotonic()
        vivo = httpx.get(base + "/alive", timeout=5)
        espera = time.monotonic() - inicio
        hilo.join(timeout=10)

    assert vivo.status_code == 200
    assert espera < 0.5, f"/alive esperó {espera:.2f} s a que terminara /health"
    assert salud[0].status_code == 503


# --- 9. Errors in Spanish, in the documented shape; Allow on 405 -----------------------------


@pytest.mark.parametrize(
    "cuerpo",
    [b'{"codigo": "caf\xe9"}', b"\xff\xfe{}", b'{"codigo": '],
    ids=["latin1", "bom-utf16", "json-cortado"],
)
def test_un_cuerpo_que_no_es_json_utf8_da_422_en_espanol(api: TestClient, cuerpo: bytes):
    r = api.post(
        "/api/v1/seguimiento", content=cuerpo, headers={"Content-Type": "application/json"}
    )

    assert r.status_code == 422, r.text
    assert es_error_documentado(r.json())
    assert r.json()["error"] == "datos_invalidos"
    assert [d["campo"] for d in r.json()["detalle"]] == ["cuerpo"]
    assert "error" not in r.json()["mensaje"].lower() + r.json()["detalle"][0]["mensaje"].lower()


@pytest.mark.parametrize("metodo", ["OPTIONS", "PUT", "DELETE"])
def test_405_lista_todos_los_metodos_de_la_ruta(api: TestClient, metodo: str):
    # gateway/rutas/encuestas.py declares GET (ver) and POST (responder) on this path.
    r = api.request(metodo, f"/api/v1/encuestas/{TOKEN_ENCUESTA}")

    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "POST"}
    assert es_error_documentado(r.json())
    assert r.json()["error"] == "metodo_no_permitido"


# --- Access log ----------------------------------------------------------------------------


def test_una_linea_de_acceso_por_solicitud_con_su_correlacion(
    mongo_url, db, interno: Interno, capsys: pytest.CaptureFixture
):
    caido = f"http://127.0.0.1:{_puerto_libre()}"
    # Logs go to the captured stdout; encuestas does not answer (a 503 to log). Behind a real
    # uvicorn, whose own access line (with the path) must not be there.
    app = crear_app(ajustes_de(mongo_url, db, interno.url, encuestas=caido))
    with servido_asgi(app) as (host, puerto):
        base = f"http://{host}:{puerto}/api/v1"
        capsys.readouterr()
        httpx.get(f"{base}/encuestas/{TOKEN_ENCUESTA}", headers={"X-Request-Id": "rid-1"})
        httpx.get(f"{base}/entidades", headers={"X-Request-Id": "rid-2"})
    salida = capsys.readouterr().out  # the server has stopped: every line is written

    lineas = [json.loads(linea) for linea in salida.splitlines() if linea.startswith("{")]
    acceso = [linea for linea in lineas if linea.get("logger") == "acceso"]
    assert [(a["metodo"], a["ruta"], a["estado"], a["correlacion"]) for a in acceso] == [
        ("GET", "/api/v1/encuestas/{token}", 503, "rid-1"),
        ("GET", "/api/v1/entidades", 200, "rid-2"),
    ]
    assert all(isinstance(a["duracion_ms"], float) for a in acceso)
    assert TOKEN_ENCUESTA not in salida  # the template, never the path


# --- 9. The contract says what the routes do -------------------------------------------------


def test_el_contrato_no_pide_clave_al_ciudadano_y_declara_el_codigo_y_los_errores(
    api: TestClient,
):
    doc = api.get("/api/v1/openapi.json").json()
    rutas = doc["paths"]
    # Public routes: a citizen has no key; the document must not ask for one (a generated
    # client would demand credentials).
    for ruta, metodo in [
        ("/api/v1/reclamos", "post"),
        ("/api/v1/seguimiento", "post"),
        ("/api/v1/entidades", "get"),
        ("/api/v1/reclamos/{codigo}/subsanacion", "post"),
        ("/api/v1/encuestas/{token}", "post"),
    ]:
        assert not rutas[ruta][metodo].get("security", doc.get("security")), ruta
    # Staff routes require the key, in the X-API-Key header.
    assert rutas["/api/v1/bandeja"]["get"]["security"] == [{"APIKeyHeader": []}]
    esquema = doc["components"]["securitySchemes"]["APIKeyHeader"]
    assert (esquema["type"], esquema["in"], esquema["name"]) == ("apiKey", "header", "X-API-Key")
    # The código has its shape.
    (codigo,) = [
        p for p in rutas["/api/v1/bandeja/{codigo}"]["get"]["parameters"] if p["name"] == "codigo"
    ]
    assert re.fullmatch(codigo["schema"]["pattern"], "R-7KQ2-M9XD-4HTP")
    assert not re.fullmatch(codigo["schema"]["pattern"], "R-7KQ2-M9XD")
    # Where they happen, 401, 403, 409, 411, 413 and 429 are declared with the Error body.
    respuestas = rutas["/api/v1/bandeja/{codigo}/respuesta"]["post"]["responses"]
    for estado in ("401", "403", "409", "411", "413"):
        assert estado in respuestas, estado
    assert "429" in rutas["/api/v1/seguimiento"]["post"]["responses"]
