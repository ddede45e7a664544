"""The web pages people use (DESIGN.md §1: the gateway's web portal), built on the public API.

Every page reads and writes through `/api/v1` in-process (`api.ApiInterna`), so the pages obey
the same validation, authorization, rate limits and Spanish errors as any integrator; they hold no
business rule of their own. Plain HTML forms and redirects (they work with JavaScript switched off),
server-side templates (`plantillas/`), one small stylesheet (`estaticos/`), message catalogs per
language (`idiomas/`, gettext through Babel).

    paginas.py     the renderer: templates, language, security headers; the home page
    ciudadano.py   the citizen's pages: file a reclamo, its constancia, track it, the survey
    personal.py    entity staff: sign in, the bandeja, a reclamo and every action on it
    supervisor.py  the SGP: overdue reclamos, interventions, reports (charts from graficos.py)
    cuentas.py     staff accounts (argon2, lock-out) and their operator command
    sesiones.py    server-side sessions of the staff
    idiomas.py     languages, catalogs and the visible switch
    seguridad.py   CSRF tokens on every form
    api.py         the in-process client of /api/v1, acting as the citizen or the signed-in staff
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.portal import ciudadano, paginas, personal, sesiones, supervisor
from gateway.portal.api import ApiInterna
from gateway.portal.seguridad import Csrf

ESTATICOS = Path(__file__).parent / "estaticos"


def montar(app: FastAPI, secreto: str, cookies_seguras: bool = False) -> None:
    """Adds the pages to the gateway: the renderer, every router, the stylesheet."""
    app.state.paginas = paginas.Paginas(ApiInterna(app), Csrf(secreto, cookies_seguras))
    for modulo in (paginas, ciudadano, personal, supervisor):
        app.include_router(modulo.router)
    app.add_exception_handler(sesiones.IrAIngresar, sesiones.a_ingresar)
    app.mount("/estaticos", StaticFiles(directory=ESTATICOS), name="estaticos")
