"""What the pages' browser tests check besides their content: accessibility (axe-core, WCAG 2.1 A
and AA), weight and origin of everything a page loads, screenshots kept as artifacts, mail.

Axe runs in the page's own JavaScript, and a page opened with JavaScript OFF (the `telefono`
fixture) cannot run it: Playwright's `page.evaluate` still works there, but timers never fire, so
`axe.run` never finishes. For such a page `sin_violaciones` checks the same document in a twin
context with JavaScript on: same options (viewport, scale, locale), same cookies, same URL, and the
document served is the very DOM the JS-off page shows (`page.content()`), not fetched again, so it
is right for a page that answered a POST or consumed a one-time notice; the stylesheet and images
come from the platform as usual. A page's own scripts, if any, would run in the twin.

A page's test (mark the module `pytestmark = pytest.mark.e2e`):

    def test_formulario(telefono: Page) -> None:
        telefono.goto("/reclamos/nuevo")
        ayudas.sin_violaciones(telefono)
        ayudas.capturar(telefono, "reclamo-nuevo")
        assert ayudas.peso(telefono, "/reclamos/nuevo") <= ayudas.PESO_MAXIMO
"""

from __future__ import annotations

import weakref
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route

from tests.e2e.conftest import correos
from tests.esperas import esperar

RAIZ = Path(__file__).resolve().parents[3]
CAPTURAS = RAIZ / "var" / "capturas"  # var/ is git-ignored: artifacts of the last run
ETIQUETAS_WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
OPCIONES_AXE = {
    "runOnly": {"type": "tag", "values": ETIQUETAS_WCAG},
    "resultTypes": ["violations"],
}
PESO_MAXIMO = 150 * 1024  # bytes: no page over 150 KB with all it loads (issue 11)

# The options each context was made with (`contexto`): Playwright has no public getter for
# "JavaScript enabled", and the twin context of `sin_violaciones` needs the rest as well.
_OPCIONES: weakref.WeakKeyDictionary[BrowserContext, dict[str, Any]] = weakref.WeakKeyDictionary()


def contexto(navegador: Browser, **opciones: Any) -> BrowserContext:
    """`navegador.new_context(**opciones)`, remembered so `sin_violaciones` knows whether its
    pages run JavaScript. Make contexts through here (the fixtures do)."""
    nuevo = navegador.new_context(**opciones)
    _OPCIONES[nuevo] = dict(opciones)
    return nuevo


def capturar(page: Page, nombre: str) -> Path:
    """A full-page PNG of what `page` shows, kept in var/capturas/<nombre>.png."""
    CAPTURAS.mkdir(parents=True, exist_ok=True)
    ruta = CAPTURAS / f"{nombre}.png"
    page.screenshot(path=str(ruta), full_page=True)
    return ruta


def violaciones(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA violations on what `page` shows (JS on or off)."""
    opciones = _OPCIONES.get(page.context, {})
    if opciones.get("java_script_enabled", True):
        return _axe(page)
    return _en_gemelo_con_javascript(page, opciones)


def sin_violaciones(page: Page) -> None:
    """Asserts axe-core finds no WCAG 2.1 A/AA violation on `page`; the message lists each one."""
    encontradas = violaciones(page)
    assert not encontradas, informe(page.url, encontradas)


def informe(url: str, encontradas: list[dict[str, Any]]) -> str:
    """One line per violation (id, impact, help, where), readable in a CI log."""
    lineas = [f"axe-core: {len(encontradas)} violación(es) WCAG 2.1 A/AA en {url}:"]
    for v in encontradas:
        nodos = v.get("nodes", [])
        donde = ", ".join(" ".join(map(str, n.get("target", []))) for n in nodos[:3])
        mas = f" (+{len(nodos) - 3} más)" if len(nodos) > 3 else ""
        lineas.append(
            f"  - {v['id']} [{v.get('impact')}]: {v.get('help')} → {donde}{mas}"
            f"  ({v.get('helpUrl', '')})"
        )
    return "\n".join(lineas)


def _axe(page: Page) -> list[dict[str, Any]]:
    return Axe().run(page, options=OPCIONES_AXE).response["violations"]


def _en_gemelo_con_javascript(page: Page, opciones: dict[str, Any]) -> list[dict[str, Any]]:
    navegador = page.context.browser
    assert navegador is not None
    html = page.content()
    url = page.url
    documento = url.split("#", 1)[0]
    gemelo = navegador.new_context(**{**opciones, "java_script_enabled": True})
    try:
        gemelo.add_cookies(page.context.cookies())  # type: ignore[arg-type]
        pagina = gemelo.new_page()

        def servir(ruta: Route) -> None:
            ruta.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        pagina.route(lambda u: u == documento, servir)
        pagina.goto(url)
        return _axe(pagina)
    finally:
        gemelo.close()


def peso(page: Page, ruta: str) -> int:
    """Loads `ruta` in `page` with the cache off and returns the bytes transferred for it and
    everything it loaded (bodies and headers of every response, redirects included). Asserts that
    nothing was asked of another host than the one `ruta` is on."""
    pedidos: list[Request] = []

    def anotar(pedido: Request) -> None:  # a builtin method cannot be a Playwright handler
        pedidos.append(pedido)

    page.on("request", anotar)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # a first visit's weight
    try:
        page.goto(ruta)
        page.wait_for_load_state("load")
    finally:
        page.remove_listener("request", anotar)
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        cdp.detach()
    assert pedidos, f"no se pidió nada al cargar {ruta}"
    propio = urlsplit(pedidos[0].url).netloc
    ajenos = [
        r.url
        for r in pedidos
        if urlsplit(r.url).scheme not in ("data", "blob", "about")
        and urlsplit(r.url).netloc != propio
    ]
    assert not ajenos, f"{ruta} pidió recursos de otro sitio: {ajenos}"
    total = 0
    for r in pedidos:
        if r.failure is not None:
            continue  # nothing transferred (and the test sees the broken resource elsewhere)
        tamanos = r.sizes()
        total += tamanos["responseBodySize"] + tamanos["responseHeadersSize"]
    return total


def correo_a(
    carpeta: Path, destinatario: str, asunto_contiene: str = "", plazo: float = 60.0
) -> EmailMessage:
    """The first captured mail (tests/e2e/conftest.py `correos`) to `destinatario`, alone or
    with others, whose subject contains `asunto_contiene`; waits for it (mail is asynchronous)."""

    def buscar() -> EmailMessage | None:
        for m in correos(carpeta):
            cabeceras = [str(v) for v in (m.get_all("To") or []) + (m.get_all("Cc") or [])]
            para = {d.lower() for _, d in getaddresses(cabeceras)}
            if destinatario.lower() in para and asunto_contiene in str(m["Subject"]):
                return m
        return None

    return esperar(buscar, f"correo a {destinatario} con «{asunto_contiene}»", plazo)
