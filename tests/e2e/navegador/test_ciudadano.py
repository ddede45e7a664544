"""A citizen's whole walk in a browser, on a phone with JavaScript switched off (issue 11): file
a reclamo with a file, the constancia, the acuse by mail, tracking; the entity observes through
the API; the citizen answers the observación on the page; the entity answers; the survey mail's
link opens the survey, which is answered. Every page is captured and checked with axe (WCAG 2.1
A/AA), and weighs at most 150 KB; every page is also seen in English, Quechua and Aymara."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page

from herramientas.local import Plataforma
from tests.e2e.conftest import correo_para
from tests.e2e.navegador.ayudas import capturar, peso, sin_violaciones
from tests.e2e.test_procedimiento import (
    Reclamo,
    accion,
    clave,
    esperar_seguimiento,
    listo,
    responder,
)
from tests.esperas import esperar

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

LIMA = ZoneInfo("America/Lima")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MAX_BYTES = 150 * 1024


def revisar(page: Page, nombre: str) -> None:
    """Screenshot and axe of the page now shown."""
    capturar(page, nombre)
    sin_violaciones(page)


def liviana(page: Page, ruta: str) -> None:
    assert peso(page, ruta) <= MAX_BYTES, ruta


def enviar(page: Page, accion_: str) -> None:
    page.locator(f"form[action='{accion_}'] button[type=submit]").click()
    page.wait_for_load_state()


def presentar(page: Page, documento: str, email: str, entidad: str) -> str:
    """Fills and sends the hoja with a file; returns the constancia's código."""
    liviana(page, "/reclamos/nuevo")
    ayer = (datetime.now(LIMA) - timedelta(days=1)).date().isoformat()
    page.select_option("#tipo_documento", "dni")
    page.fill("#numero_documento", documento)
    page.fill("#nombres", "Rosa")
    page.fill("#apellidos", "Quispe Mamani")
    page.fill("#email", email)
    page.select_option("#entidad_id", entidad)
    page.fill("#sede", "Sede central")
    page.fill("#fecha", ayer)
    page.fill("#hora", "10:30")
    page.check("#motivo-tiempo")
    page.fill("#descripcion", "Esperé cuatro horas en ventanilla y nadie me atendió ese día.")
    page.fill("#pedido", "Que me atiendan y mejoren los turnos.")
    page.check("#medio_respuesta-email")
    page.set_input_files(
        "#archivos", files=[{"name": "ticket.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.check("#acepta_privacidad")
    enviar(page, "/reclamos/nuevo")
    codigo = page.locator(".constancia .codigo").inner_text().strip()
    assert re.fullmatch(r"R-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", codigo), codigo
    assert "ticket.pdf" in page.content()
    return codigo


def seguir(page: Page, codigo: str, documento: str) -> None:
    liviana(page, "/seguimiento")
    page.fill("#codigo", codigo)
    page.fill("#numero_documento", documento)
    enviar(page, "/seguimiento")
    assert codigo in page.locator("h1").inner_text()
    assert documento not in page.url


def nuevo_ciudadano() -> tuple[str, str]:
    return f"{secrets.randbelow(10**8):08d}", f"nav-{uuid.uuid4().hex[:10]}@prueba.pe"


def test_un_ciudadano_en_su_telefono_sin_javascript(
    telefono: Page, api: httpx.Client, plataforma: Plataforma
):
    page = telefono
    documento, email = nuevo_ciudadano()

    page.goto("/")
    revisar(page, "ciudadano-01-inicio")
    page.goto("/reclamos/nuevo")
    revisar(page, "ciudadano-02-formulario")
    codigo = presentar(page, documento, email, "minsa")
    revisar(page, "ciudadano-03-constancia")

    # The acuse arrives by mail.
    acuse = esperar(lambda: correo_para(plataforma.correo, email, codigo, "registrado"), "acuse")
    assert codigo in acuse.get_content()

    seguir(page, codigo, documento)
    revisar(page, "ciudadano-04-seguimiento")

    # The entity observes through the API with its key.
    reclamo = Reclamo(codigo, documento, email, "minsa", datetime.now(LIMA))
    listo(api, plataforma, reclamo)
    minsa = clave(plataforma, "minsa")
    pedido = "Indique el número de su ticket de atención y la ventanilla."
    assert accion(api, codigo, "observacion", minsa, {"observacion": pedido}).status_code == 200
    esperar_seguimiento(api, reclamo, lambda s: s["estado"] == "observado", "observado")

    # The citizen answers it on the page.
    seguir(page, codigo, documento)
    assert pedido in page.content()
    revisar(page, "ciudadano-05-observado")
    page.fill("#texto", "Ticket 0457, ventanilla 3, el lunes por la mañana.")
    enviar(page, "/seguimiento/subsanacion")
    assert page.locator(".exito").count() == 1
    revisar(page, "ciudadano-06-subsanado")
    esperar_seguimiento(api, reclamo, lambda s: s["estado"] == "subsanado", "subsanado")

    # The entity answers; the survey mail's link opens the survey page.
    assert responder(api, codigo, minsa).status_code == 200
    invitacion = esperar(
        lambda: correo_para(plataforma.correo, email, codigo, "Cuéntenos"), "la encuesta", 60.0
    )
    enlace = re.search(r"https?://\S+/encuestas/[\w-]+", invitacion.get_content())
    assert enlace, invitacion.get_content()
    ruta = urlsplit(enlace.group(0)).path
    liviana(page, ruta)
    page.goto(ruta)
    revisar(page, "ciudadano-07-encuesta")

    # The same pages in each other language (axe, screenshot and weight).
    for idioma in ("en", "qu", "ay"):
        page.goto(f"/idioma/{idioma}?volver=/")
        assert page.locator(f"html[lang='{idioma}']").count() == 1
        otro, correo = nuevo_ciudadano()
        page.goto("/reclamos/nuevo")
        revisar(page, f"ciudadano-{idioma}-formulario")
        suyo = presentar(page, otro, correo, "gore-cusco")
        revisar(page, f"ciudadano-{idioma}-constancia")
        seguir(page, suyo, otro)
        revisar(page, f"ciudadano-{idioma}-seguimiento")
        page.goto(ruta)
        revisar(page, f"ciudadano-{idioma}-encuesta")
    page.goto("/idioma/es?volver=/")

    # The survey, answered.
    page.goto(ruta)
    page.check("#satisfaccion-4")
    page.check("#resuelto-si")
    for impulsor in ("tiempo", "trato", "informacion", "acceso", "resultado", "confianza"):
        page.check(f"#impulsor_{impulsor}-4")
    page.fill("#comentario", "Me respondieron a tiempo.")
    enviar(page, ruta)
    assert page.locator(".exito").count() == 1
    revisar(page, "ciudadano-08-encuesta-respondida")
    page.goto(ruta)
    revisar(page, "ciudadano-09-encuesta-ya-respondida")
    esperar_seguimiento(api, reclamo, lambda s: s["estado"] == "cerrado", "cerrado")
