"""The browser for the pages' tests: Debian's Chromium (scripts/preparar.sh installs it; Playwright
never downloads one), launched once for these tests, headless, against the session's one platform
(`plataforma` of tests/e2e/conftest.py). Each test gets a fresh context: cookies, cache and
language start empty.

    telefono     a phone (360×740) with JavaScript OFF: what every page must work on
    escritorio   a desktop window (1280×900) with JavaScript on
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from herramientas.local import Plataforma
from tests.e2e.navegador import ayudas

CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: without the background-networking flags Chromium keeps
# retrying its own services (updates, sync, field trials) against refused connections.
ARGUMENTOS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TELEFONO = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "java_script_enabled": False,
    "locale": "es-PE",
}
ESCRITORIO = {
    "viewport": {"width": 1280, "height": 900},
    "java_script_enabled": True,
    "locale": "es-PE",
}


# Package scope, not session: while sync Playwright runs, its event loop counts as running in the
# main thread, and every later test that calls asyncio.run() would fail. It stops with the last
# browser test.
@pytest.fixture(scope="package")
def navegador() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"No está {CHROMIUM}: las pruebas en el navegador usan el Chromium de Debian. "
            "Ejecute scripts/preparar.sh (como root lo instala con apt-get) o instálelo con "
            "`sudo apt-get install chromium`.",
            pytrace=False,
        )
    with sync_playwright() as p:
        navegador = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGUMENTOS)
        yield navegador
        navegador.close()


@pytest.fixture
def telefono(navegador: Browser, plataforma: Plataforma) -> Iterator[Page]:
    contexto = ayudas.contexto(navegador, base_url=plataforma.url, **TELEFONO)
    yield contexto.new_page()
    contexto.close()


@pytest.fixture
def escritorio(navegador: Browser, plataforma: Plataforma) -> Iterator[Page]:
    contexto = ayudas.contexto(navegador, base_url=plataforma.url, **ESCRITORIO)
    yield contexto.new_page()
    contexto.close()
