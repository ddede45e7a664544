"""Languages of the pages: Spanish by default, English for consulates, Quechua and Aymara for the
citizen pages. Texts live in gettext catalogs (`idiomas/<código>/LC_MESSAGES/portal.po`, msgids in
Spanish) read with Babel at start-up; no text is written in a template outside `_()` / `trans`.

    pybabel extract -F babel.cfg -o gateway/portal/idiomas/portal.pot .   (scripts/traducciones.sh)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

CARPETA = Path(__file__).parent / "idiomas"
COOKIE = "pdr_idioma"


@dataclass(frozen=True)
class Idioma:
    codigo: str
    nombre: str  # in the language itself: what a speaker looks for in the switch
    # A provisional translation says so on every page, in its own language (the catalog holds
    # the sentence, under the msgid AVISO_PROVISIONAL).
    provisional: bool = False
    solo_ciudadano: bool = False  # staff pages are offered in Spanish and English only


IDIOMAS: dict[str, Idioma] = {
    i.codigo: i
    for i in (
        Idioma("es", "Español"),
        Idioma("en", "English"),
        Idioma("qu", "Runasimi", provisional=True, solo_ciudadano=True),
        Idioma("ay", "Aymar aru", provisional=True, solo_ciudadano=True),
    )
}
PREDETERMINADO = "es"


@cache
def traducciones(codigo: str) -> NullTranslations:
    """Every catalog of `codigo` (one per domain: portal, ciudadano, personal) as one,
    compiled in memory (no .mo files kept in the tree). Spanish is the source language: its
    msgids are the texts, so it has no catalog. An untranslated text shows in Spanish."""
    todas: Translations | None = None
    for po in sorted((CARPETA / codigo / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            catalogo = read_po(f, charset="utf-8")
        mo = io.BytesIO()
        write_mo(mo, catalogo)
        mo.seek(0)
        una = Translations(fp=mo, domain=po.stem)
        if todas is None:
            todas = una
        else:
            todas.merge(una)  # a domain's texts added to the first one's
    return todas or NullTranslations()


def elegido(request: Request, solo_personal: bool = False) -> Idioma:
    """`?idioma=` (a link that names its language), then the remembered choice, then Spanish.
    Staff pages fall back to Spanish for a language offered to citizens only."""
    for codigo in (request.query_params.get("idioma"), request.cookies.get(COOKIE)):
        idioma = IDIOMAS.get(codigo or "")
        if idioma and not (solo_personal and idioma.solo_ciudadano):
            return idioma
    return IDIOMAS[PREDETERMINADO]


def ofrecidos(solo_personal: bool = False) -> list[Idioma]:
    return [i for i in IDIOMAS.values() if not (solo_personal and i.solo_ciudadano)]
