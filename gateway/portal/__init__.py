"""The web pages people use (DESIGN.md §1: the gateway's web portal), built on the public API.

Every page reads and writes through `/api/v1` in-process (`api.ApiInterna`), so the pages obey
the same validation, authorization, rate limits and Spanish errors as any integrator; they hold no
business rule of their own. Plain HTML forms and redirects (they work with JavaScript switched off),
server-side templates (`plantillas/`), one small stylesheet (`estaticos/`), message catalogs per
language (`idiomas/`, gettext through Babel).

    paginas.py     the renderer: templates, language, security headers; the home page
    idiomas.py     languages, catalogs and the visible switch
    seguridad.py   CSRF tokens on every form
    api.py         the in-process client of /api/v1, acting as the citizen or the signed-in staff
"""
