"""The pages' foundation (issue 11): languages and their switch, the CSRF token, security
headers, error pages in HTML while the API keeps its JSON, and the in-process API client acting
with a staff credential that no HTTP request can claim. The gateway runs on the test's store;
the internal services are not needed for these pages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from gateway.ajustes import AjustesGateway
from gateway.app import crear_app
from gateway.credenciales import Credencial
from gateway.dependencias import quien_llama
from herramientas import traducciones
from tests.integracion.servicios import TOKEN

pytestmark = [pytest.mark.integracion, pytest.mark.timeout(60)]


@pytest.fixture
def web(mongo_url, db) -> Iterator[TestClient]:
    app = crear_app(AjustesGateway(mongo_url=mongo_url, mongo_db=db.name, token_interno=TOKEN))

    # A route that says who the API thinks is calling, for the in-process client's test.
    @app.get("/api/v1/prueba/quien")
    async def quien(request: Request):
        c = quien_llama(request, request.headers.get("x-api-key"))
        return {"rol": c.rol, "entidad": c.entidad}

    with TestClient(app, raise_server_exceptions=False) as cliente:
        yield cliente


def test_la_portada_en_castellano_sin_aviso_y_con_su_hoja_de_estilo(web: TestClient):
    r = web.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="es">' in r.text
    assert "Presentar un reclamo" in r.text
    assert 'role="note"' not in r.text  # Spanish is not provisional
    assert web.get("/estaticos/estilo.css").status_code == 200


@pytest.mark.parametrize(
    ("codigo", "texto", "aviso"),
    [
        ("en", "File a complaint", None),
        ("qu", "Reclamota churay", "manaraq tukusqachu"),
        ("ay", "Reclamo uñt'ayaña", "janiw tukuyatäkiti"),
    ],
)
def test_el_selector_recuerda_el_idioma_y_el_provisional_lo_dice(
    web: TestClient, codigo: str, texto: str, aviso: str | None
):
    r = web.get(f"/idioma/{codigo}?volver=/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert web.cookies.get("pdr_idioma") == codigo
    pagina = web.get("/").text
    assert f'<html lang="{codigo}">' in pagina
    assert texto in pagina
    assert (aviso in pagina) if aviso else 'role="note"' not in pagina


@pytest.mark.parametrize("volver", ["//malo.example/x", "https://malo.example/", "/\\malo"])
def test_el_selector_no_lleva_a_otro_sitio(web: TestClient, volver: str):
    r = web.get("/idioma/en", params={"volver": volver}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_un_idioma_desconocido_no_cambia_nada(web: TestClient):
    web.get("/idioma/xx?volver=/", follow_redirects=False)
    assert "pdr_idioma" not in web.cookies
    assert '<html lang="es">' in web.get("/?idioma=xx").text


def test_cabeceras_de_seguridad_y_cookie_csrf(web: TestClient):
    r = web.get("/")
    politica = r.headers["content-security-policy"]
    assert "default-src 'self'" in politica and "frame-ancestors 'none'" in politica
    assert r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("pdr_csrf=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS see the next test


def test_detras_de_tls_la_cookie_es_segura(mongo_url, db):
    app = crear_app(
        AjustesGateway(
            mongo_url=mongo_url, mongo_db=db.name, token_interno=TOKEN, portal_cookies_seguras=True
        )
    )
    with TestClient(app) as cliente:
        assert "Secure" in cliente.get("/").headers["set-cookie"]


def test_el_token_csrf_depende_de_la_cookie_y_de_la_sesion(web: TestClient):
    csrf = web.app.state.paginas.csrf

    class Pedido:  # what Csrf reads of a request
        def __init__(self, cookie: str) -> None:
            self.cookies = {"pdr_csrf": cookie}
            self.state = type("S", (), {})()

    a, b = Pedido("a" * 43), Pedido("b" * 43)
    token = csrf.token(a)
    assert csrf.valido(a, token)
    assert not csrf.valido(b, token)  # another browser's cookie
    assert not csrf.valido(a, csrf.token(a, sesion="s1"))  # a session's token, used without it
    assert csrf.valido(a, csrf.token(a, sesion="s1"), sesion="s1")
    assert not csrf.valido(a, "")


def test_una_pagina_que_no_existe_es_html_y_la_api_sigue_en_json(web: TestClient):
    web.cookies.set("pdr_idioma", "en")
    r = web.get("/no-existe")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text
    api = web.get("/api/v1/no-existe")
    assert api.status_code == 404 and api.json()["error"] == "no_encontrado"


def test_el_cliente_interno_actua_con_la_credencial_de_la_sesion(web: TestClient):
    paginas = web.app.state.paginas
    entrada = web.get("/")  # a real request, for the client's address and request id
    assert entrada.status_code == 200

    class Pedido:
        client = type("C", (), {"host": "203.0.113.9"})()
        headers = type("H", (), {"getlist": staticmethod(lambda _n: [])})()
        state = type("S", (), {"request_id": "r-1"})()
        app = web.app

    credencial = Credencial(rol="entidad", entidad="minsa")
    como_personal = asyncio.run(paginas.api.llamar(Pedido(), "GET", "/prueba/quien", credencial))
    assert como_personal.datos == {"rol": "entidad", "entidad": "minsa"}
    anonimo = asyncio.run(paginas.api.llamar(Pedido(), "GET", "/prueba/quien"))
    assert anonimo.datos == {"rol": "ciudadano", "entidad": None}
    # No header claims the session's credential from outside.
    assert web.get("/api/v1/prueba/quien", headers={"pdr.credencial": "x"}).json()["rol"] == (
        "ciudadano"
    )


def test_todo_texto_de_las_paginas_esta_en_los_catalogos():
    assert traducciones.escritos_a_mano() == []
    assert traducciones.sin_traducir() == []
    # The check sees a hard-coded word (so an empty list above means something).
    fuera = traducciones._ETIQUETA.sub(
        " ", traducciones._JINJA.sub(" ", "<p>Hola {{ _('x') }}</p>")
    )
    assert traducciones._PALABRA.findall(fuera) == ["Hola"]
