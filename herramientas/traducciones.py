"""The pages' message catalogs: extract the texts, merge them into each language, and check.

    python -m herramientas.traducciones actualizar   # after changing a page's text
    python -m herramientas.traducciones revisar      # what is untranslated or hard-coded

Spanish is the source language (the msgids); each language has one catalog per domain in
`gateway/portal/idiomas/<código>/LC_MESSAGES/<dominio>.po`: `portal` (what every page shares),
`ciudadano` (the citizen's pages) and `personal` (entity staff and supervisor). Domains keep the
catalogs of different pages in different files; the pages load them all as one.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from gateway.portal.idiomas import CARPETA, IDIOMAS, PREDETERMINADO

PORTAL = CARPETA.parent
PLANTILLAS = PORTAL / "plantillas"
OPCIONES_JINJA = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
# Python modules whose texts belong to a domain other than `portal`.
MODULOS = {
    "ciudadano.py": "ciudadano",
    "personal.py": "personal",
    "supervisor.py": "personal",
    "cuentas.py": "personal",
    "graficos.py": "personal",
}
DOMINIOS = ("portal", "ciudadano", "personal")
# Staff pages are offered in Spanish and English only (gateway.portal.idiomas).
IDIOMAS_DEL_DOMINIO = {
    "portal": [c for c in IDIOMAS if c != PREDETERMINADO],
    "ciudadano": [c for c in IDIOMAS if c != PREDETERMINADO],
    "personal": [c for c, i in IDIOMAS.items() if c != PREDETERMINADO and not i.solo_ciudadano],
}


def dominio_de(archivo: Path) -> str:
    if archivo.suffix == ".py":
        return MODULOS.get(archivo.name, "portal")
    partes = archivo.relative_to(PLANTILLAS).parts
    return partes[0] if len(partes) > 1 and partes[0] in DOMINIOS else "portal"


def fuentes() -> Iterator[tuple[Path, str]]:
    for archivo in sorted(PORTAL.glob("*.py")):
        yield archivo, "python"
    for archivo in sorted(PLANTILLAS.rglob("*.html")) + sorted(PLANTILLAS.rglob("*.svg")):
        yield archivo, "jinja2.ext.babel_extract"


def extraer() -> dict[str, Catalog]:
    """Every text of the pages, by domain."""
    catalogos = {d: Catalog(domain=d, charset="utf-8") for d in DOMINIOS}
    for archivo, metodo in fuentes():
        opciones = OPCIONES_JINJA if metodo != "python" else {}
        for _linea, mensaje, _comentarios, _contexto in extract_from_file(
            metodo, str(archivo), keywords={"_": None, "gettext": None}, options=opciones
        ):
            catalogos[dominio_de(archivo)].add(mensaje)
    return catalogos


def _po(idioma: str, dominio: str) -> Path:
    return CARPETA / idioma / "LC_MESSAGES" / f"{dominio}.po"


def actualizar() -> None:
    """Adds new texts (empty, to translate) and drops the ones no page uses any more."""
    for dominio, plantilla in extraer().items():
        for idioma in IDIOMAS_DEL_DOMINIO[dominio]:
            ruta = _po(idioma, dominio)
            ruta.parent.mkdir(parents=True, exist_ok=True)
            if ruta.exists():
                with ruta.open("rb") as f:
                    catalogo = read_po(f, charset="utf-8")
            else:
                catalogo = Catalog(domain=dominio, charset="utf-8")
            catalogo.update(plantilla, no_fuzzy_matching=True)
            with ruta.open("wb") as f:
                write_po(
                    f,
                    catalogo,
                    omit_header=True,
                    no_location=True,
                    sort_output=True,
                    ignore_obsolete=True,
                )


def sin_traducir() -> list[str]:
    """ "<idioma>/<dominio>: <msgid>" for every text with no translation in a catalog."""
    faltan = []
    for dominio, plantilla in extraer().items():
        for idioma in IDIOMAS_DEL_DOMINIO[dominio]:
            ruta = _po(idioma, dominio)
            traducidos: dict[str, str] = {}
            if ruta.exists():
                with ruta.open("rb") as f:
                    traducidos = {m.id: m.string for m in read_po(f, charset="utf-8") if m.id}
            faltan += [
                f"{idioma}/{dominio}: {m.id}"
                for m in plantilla
                if m.id and not traducidos.get(m.id)
            ]
    return faltan


# Text a reader sees, outside `{{ ... }}`, `{% ... %}`, `{# ... #}`, tags and entities.
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_ETIQUETA = re.compile(r"<[^>]*>", re.S)
_ENTIDAD = re.compile(r"&[a-z]+;|&#\d+;")
_PALABRA = re.compile(r"[^\W\d_]{2,}")


def escritos_a_mano() -> list[str]:
    """ "plantilla: texto" for words written in a template outside the catalog (a `<style>` or
    `<script>` would count too: pages have neither inline)."""
    hallados = []
    for archivo in sorted(PLANTILLAS.rglob("*.html")) + sorted(PLANTILLAS.rglob("*.svg")):
        fuera = _ENTIDAD.sub(" ", _ETIQUETA.sub(" ", _JINJA.sub(" ", archivo.read_text())))
        for palabra in _PALABRA.findall(fuera):
            hallados.append(f"{archivo.relative_to(PLANTILLAS)}: {palabra}")
    return hallados


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("orden", choices=("actualizar", "revisar"))
    args = parser.parse_args(argv)
    if args.orden == "actualizar":
        actualizar()
        return 0
    problemas = sin_traducir() + escritos_a_mano()
    print("\n".join(problemas) or "Todo traducido; ningún texto escrito a mano.")
    return 1 if problemas else 0


if __name__ == "__main__":
    sys.exit(main())
