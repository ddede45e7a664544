"""Staff and supervisor walk the pages in a real browser (issue 11): a citizen's reclamo filed
through the API; staff sign in, find it in the bandeja, open it, download the citizen's file and
answer it with a report attached, which the citizen's tracking then lists; the domain clock moves
so another reclamo falls due; the supervisor signs in, sees it among the overdue, intervenes, and
opens the reports with their charts. Every page is kept as a screenshot, and axe (WCAG 2.1 A and
AA) finds nothing on any of them, in Spanish and in English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.navegador.ayudas import capturar, peso, sin_violaciones
from tests.e2e.test_adjuntos import PDF, presentado
from tests.e2e.test_portal_personal import CLAVE, cuenta
from tests.e2e.test_procedimiento import (
    avanzar_hasta,
    calendario,
    clave,
    dia_lima,
    listo,
    momento,
    presentar,
    seguir,
    ver,
)
from tests.esperas import esperar

pytestmark = pytest.mark.e2e

MAX_BYTES = 150 * 1024
INFORME = b"%PDF-1.4\n% informe de la entidad\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


def revisar(page: Page, nombre: str) -> None:
    """This page: a screenshot, no axe violation and under the weight limit, in Spanish; then the
    same page in English (through the visible switch's link) and back to Spanish."""
    ruta = page.url.split("://", 1)[1].split("/", 1)[1]
    ruta = "/" + ruta
    capturar(page, f"{nombre}-es")
    sin_violaciones(page)
    assert peso(page, ruta) < MAX_BYTES
    page.goto(f"/idioma/en?volver={ruta.split('?')[0]}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    capturar(page, f"{nombre}-en")
    sin_violaciones(page)
    page.goto(f"/idioma/es?volver={ruta.split('?')[0]}")
    if "?" in ruta:
        page.goto(ruta)


def ingresar(page: Page, usuario: str) -> None:
    page.goto("/personal/ingresar")
    page.get_by_label("Correo electrónico").fill(usuario)
    page.get_by_label("Contraseña").fill(CLAVE)
    page.get_by_role("button", name="Ingresar").click()


def test_el_personal_responde_y_el_supervisor_interviene(plataforma, api, reloj, escritorio):
    page: Page = escritorio
    reclamo, (adjunto,) = presentado(api, plataforma, [("constancia.pdf", PDF)])
    listo(api, plataforma, reclamo)
    personal = cuenta(plataforma)

    page.goto("/personal/ingresar")
    revisar(page, "personal-ingresar")
    ingresar(page, personal)
    expect(page).to_have_url(re.compile(r"/personal/bandeja$"))
    revisar(page, "personal-bandeja")

    # The newest reclamo is due last: a person pages on until they find it.
    for _ in range(50):
        enlace = page.get_by_role("link", name=reclamo.codigo)
        if enlace.count():
            break
        page.get_by_role("link", name="Página siguiente").click()
    enlace.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reclamo.codigo)
    revisar(page, "personal-reclamo")

    with page.expect_download() as descarga:
        page.get_by_role("link", name="constancia.pdf").click()
    with open(descarga.value.path(), "rb") as f:
        assert f.read() == PDF

    # A too-short answer: the API's words beside the field, in the browser too.
    page.get_by_label("Respuesta", exact=True).fill("Corto")
    page.get_by_role("button", name="Enviar respuesta").click()
    expect(page.locator("#respuesta-texto-error")).to_be_visible()
    capturar(page, "personal-reclamo-error-es")
    sin_violaciones(page)
    texto = "Revisamos su caso: se corrigió el trámite y se capacitó al personal."
    page.get_by_label("Respuesta", exact=True).fill(texto)
    # The answer goes with its report attached.
    page.get_by_label("Archivos (opcional)").set_input_files(
        files=[{"name": "informe.pdf", "mimeType": "application/pdf", "buffer": INFORME}]
    )
    page.get_by_role("button", name="Enviar respuesta").click()
    expect(page.get_by_role("status")).to_contain_text("La respuesta y sus archivos fueron")
    expect(page.get_by_role("link", name="informe.pdf")).to_be_visible()
    expect(page.get_by_role("heading", name="Adjuntar archivos a la respuesta")).to_be_visible()
    revisar(page, "personal-respondido")
    assert ver(api, reclamo.codigo, clave(plataforma, "minsa")).json()["estado"] == "respondido"
    # The citizen's tracking lists it as the entity's; the citizen downloads the same bytes.
    visto = seguir(api, reclamo)
    (informe,) = [a for a in visto["adjuntos"] if a["origen"] == "entidad"]
    assert informe["nombre"] == "informe.pdf"
    r = api.post(
        f"/reclamos/{reclamo.codigo}/adjuntos/{informe['id']}",
        json={"numero_documento": reclamo.documento},
    )
    assert r.status_code == 200 and r.content == INFORME
    page.get_by_role("button", name="Cerrar sesión").click()
    expect(page).to_have_url(re.compile(r"/personal/ingresar\?salio=1$"))

    # Another reclamo falls due: the clock moves to the first business day after its deadline.
    otro = presentar(api, plataforma, "munilima")
    visto, _ = listo(api, plataforma, otro)
    cal = calendario(api, plataforma)
    avanzar_hasta(reloj, cal.despues(dia_lima(momento(visto["vence_en"]))))
    supervisor = clave(plataforma, "supervisor")

    def vencido() -> bool:
        r = api.get("/supervision/vencidos", params={"entidad": "munilima"}, headers=supervisor)
        return any(i["codigo"] == otro.codigo for i in r.json()["items"])

    esperar(vencido, "el otro reclamo entre los vencidos")

    ingresar(page, cuenta(plataforma, "supervisor", None))
    expect(page).to_have_url(re.compile(r"/supervisor/vencidos$"))
    page.get_by_label("Entidad").fill("munilima")
    page.get_by_role("button", name="Filtrar").click()
    revisar(page, "supervisor-vencidos")
    page.get_by_role("link", name=f"Intervenir {otro.codigo}").click()
    revisar(page, "supervisor-intervencion")
    page.get_by_label("Qué pide la SGP a la entidad").fill(
        "Responder hoy mismo y dar cuenta a la SGP del motivo del atraso."
    )
    page.get_by_role("button", name="Registrar intervención").click()
    expect(page.get_by_role("status")).to_contain_text("La intervención quedó registrada")
    page.get_by_role("link", name="Intervenciones").click()
    expect(page.get_by_role("cell", name="munilima")).to_be_visible()
    revisar(page, "supervisor-intervenciones")
    page.get_by_role("link", name="Reportes").click()
    expect(page.locator('svg[role="img"]')).to_have_count(4)
    revisar(page, "supervisor-reportes")
    # The supervisor may read the reclamo too (its identity masked), but not act on it.
    page.goto(f"/personal/reclamos/{otro.codigo}")
    expect(page.get_by_role("button", name="Enviar respuesta")).to_have_count(0)
    revisar(page, "supervisor-reclamo")
    assert adjunto["nombre"] == "constancia.pdf"
