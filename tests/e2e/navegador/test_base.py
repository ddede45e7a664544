"""The pages every visitor shares, in a real browser: home, a page that does not exist and the
language switch, in each language, on a phone with JavaScript OFF. Each page: axe-core finds no
WCAG 2.1 A/AA violation, it weighs at most 150 KB with everything it loads, nothing comes from
another site, and a screenshot is kept (var/capturas)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.navegador import ayudas

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
    assert enlace.get_attribute("href", timeout=5000).startswith(f"/idioma/{codigo}?volver=")
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
    ruta = page.url.removeprefix(page.url.split("/", 3)[0] + "//" + page.url.split("/")[2])
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


def test_el_cambio_de_idioma_vuelve_a_la_misma_pagina(telefono: Page) -> None:
    telefono.goto(NO_EXISTE)
    elegir_idioma(telefono, "qu")
    assert telefono.url.endswith(NO_EXISTE)
    comprobar_idioma(telefono, "qu", TEXTOS["qu"][1])
    telefono.goto("/")
    comprobar_idioma(telefono, "qu", TEXTOS["qu"][0])
