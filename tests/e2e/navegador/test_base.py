"""The pages every visitor shares, in a real browser: home, a page that does not exist and the
language switch, in each language, on a phone with JavaScript OFF. Each page: axe-core finds no
WCAG 2.1 A/AA violation, it weighs at most 150 KB with everything it loads, nothing comes from
another site, and a screenshot is kept (var/capturas)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.e2e.navegador import ayudas

pytestmark = pytest.mark.e2e

# What a speaker of each language reads (the catalogs' translations, written here by hand):
# the home page's heading and the missing page's heading.
TEXTOS = {
    "es": ("Libro de Reclamaciones", "Página no encontrada"),
    "en": ("Complaints Book", "Page not found"),
    "qu": ("Reclamokunap Qelqan", "P'anqaqa mana tarikunchu"),
    "ay": ("Reclamonak Qillqañ Panka", "Laphix janiw jikxataskiti"),
}
NOMBRES = {"es": "Español", "en": "English", "qu": "Runasimi", "ay": "Aymar aru"}
PROVISIONALES = {"qu", "ay"}
NO_EXISTE = "/no-existe-esta-pagina"


def elegir_idioma(page: Page, codigo: str) -> None:
    """Follows the switch's plain link (no script involved) and checks where it leads back."""
    desde = page.url
    enlace = page.locator(f'nav.idiomas a[hreflang="{codigo}"]')
    assert (enlace.get_attribute("href", timeout=5000) or "").startswith(
        f"/idioma/{codigo}?volver="
    )
    enlace.click()
    page.wait_for_load_state("load")
    assert page.url == desde  # back on the same page, now in `codigo`


def comprobar_idioma(page: Page, codigo: str, encabezado: str) -> None:
    assert page.locator("html").get_attribute("lang") == codigo
    assert page.locator("h1").inner_text() == encabezado
    actual = page.locator("nav.idiomas [aria-current]")
    assert actual.inner_text() == NOMBRES[codigo]
    otros = {c for c in NOMBRES if c != codigo}
    for c in otros:  # every other language is offered as a link
        assert page.locator(f'nav.idiomas a[hreflang="{c}"]').count() == 1
    aviso = page.locator("p.aviso[role=note]")
    if codigo in PROVISIONALES:
        assert aviso.count() == 1
        assert "AVISO_PROVISIONAL" not in aviso.inner_text()  # the notice itself, translated
    else:
        assert aviso.count() == 0


def comprobar_pagina(page: Page, nombre: str) -> None:
    ayudas.sin_violaciones(page)
    ayudas.capturar(page, nombre)
    direccion = urlsplit(page.url)
    ruta = direccion.path + (f"?{direccion.query}" if direccion.query else "")
    assert ayudas.peso(page, ruta) <= ayudas.PESO_MAXIMO


@pytest.mark.parametrize("codigo", list(TEXTOS))
def test_inicio_y_pagina_inexistente_en_cada_idioma(telefono: Page, codigo: str) -> None:
    inicio, no_encontrada = TEXTOS[codigo]
    telefono.goto("/")
    comprobar_idioma(telefono, "es", TEXTOS["es"][0])  # Spanish unless told otherwise
    if codigo == "es":  # switching back to Spanish works too
        elegir_idioma(telefono, "en")
    elegir_idioma(telefono, codigo)
    comprobar_idioma(telefono, codigo, inicio)
    comprobar_pagina(telefono, f"inicio-{codigo}")

    # The choice is remembered on the next page: a path that is no page.
    respuesta = telefono.goto(NO_EXISTE)
    assert respuesta is not None and respuesta.status == 404
    comprobar_idioma(telefono, codigo, no_encontrada)
    comprobar_pagina(telefono, f"no-encontrada-{codigo}")


def test_en_el_escritorio(escritorio: Page) -> None:
    """The wide layout (header in a row) passes the same checks, with JavaScript on."""
    escritorio.goto("/")
    comprobar_idioma(escritorio, "es", TEXTOS["es"][0])
    comprobar_pagina(escritorio, "inicio-escritorio")
    escritorio.goto(NO_EXISTE)
    comprobar_idioma(escritorio, "es", TEXTOS["es"][1])
    comprobar_pagina(escritorio, "no-encontrada-escritorio")


def test_el_cambio_de_idioma_vuelve_a_la_misma_pagina(telefono: Page) -> None:
    telefono.goto(NO_EXISTE)
    elegir_idioma(telefono, "qu")
    assert telefono.url.endswith(NO_EXISTE)
    comprobar_idioma(telefono, "qu", TEXTOS["qu"][1])
    telefono.goto("/")
    comprobar_idioma(telefono, "qu", TEXTOS["qu"][0])


# --- The checks themselves can fail ---------------------------------------------------------------

PRUEBA = "/prueba-de-las-ayudas"


def servir_en_la_plataforma(page: Page, html: str) -> None:
    """Answers PRUEBA on the platform's own address with `html` (the browser never asks the
    platform): a page the checks must refuse, served like any other."""
    page.route(
        lambda url: url.endswith(PRUEBA),
        lambda ruta: ruta.fulfill(status=200, content_type="text/html; charset=utf-8", body=html),
    )


@pytest.mark.parametrize("dispositivo", ["telefono", "escritorio"])
def test_sin_violaciones_falla_ante_una_violacion(
    request: pytest.FixtureRequest, dispositivo: str
) -> None:
    """The home page with its language removed and an image without a text alternative: axe must
    name both, on the phone (JS off: checked in the JS-on twin) and on the desktop alike."""
    page: Page = request.getfixturevalue(dispositivo)
    page.goto("/")
    html = page.content().replace('<html lang="es">', "<html>", 1)
    html = html.replace("<h1>", '<img src="/estaticos/foto.png"><h1>', 1)
    assert html.count("<img") == 1 and '<html lang="es">' not in html
    servir_en_la_plataforma(page, html)
    page.goto(PRUEBA)
    with pytest.raises(AssertionError) as fallo:
        ayudas.sin_violaciones(page)
    mensaje = str(fallo.value)
    assert "html-has-lang [serious]" in mensaje
    assert "image-alt [critical]" in mensaje
    assert "→ img" in mensaje  # where: the selector of the offending element
    assert PRUEBA in mensaje


def test_peso_cuenta_todo_y_rechaza_otros_sitios(telefono: Page) -> None:
    # Everything a page loads counts: the home page weighs more than its stylesheet alone.
    estilo = len(telefono.request.get("/estaticos/estilo.css").body())
    assert ayudas.peso(telefono, "/") > estilo
    # Loaded twice, it weighs the same: the cache is off while weighing (a first visit).
    assert ayudas.peso(telefono, "/") == ayudas.peso(telefono, "/")

    servir_en_la_plataforma(
        telefono,
        '<!doctype html><html lang="es"><title>x</title>'
        '<link rel="stylesheet" href="http://otro.sitio.invalid/estilo.css">',
    )
    with pytest.raises(AssertionError, match=r"otro\.sitio\.invalid"):
        ayudas.peso(telefono, PRUEBA)


def test_el_telefono_no_ejecuta_javascript(telefono: Page, escritorio: Page) -> None:
    """The fixtures' contract: what the phone shows is what a browser without scripts shows."""
    for page, titulo in ((telefono, "sin script"), (escritorio, "con script")):
        servir_en_la_plataforma(
            page,
            '<!doctype html><html lang="es"><title>sin script</title>'
            '<script>document.title = "con script"</script>',
        )
        page.goto(PRUEBA)
        assert page.title() == titulo
