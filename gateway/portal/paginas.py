"""The pages' renderer and the pages every visitor shares: home, the language switch, the
stylesheet. Citizen and staff pages are routers of their own (ciudadano.py, personal.py,
supervisor.py) that render through `Paginas`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile

from gateway.portal import idiomas
from gateway.portal.api import ApiInterna
from gateway.portal.seguridad import CABECERAS, CAMPO, Csrf

CARPETA = Path(__file__).parent
UN_ANO = 365 * 24 * 3600


def _(texto: str) -> str:
    """Marks a text for the catalog; it is translated when shown (`Paginas.texto`)."""
    return texto


ERRORES = {
    403: (_("Acceso no permitido"), _("No tiene permiso para ver esta página.")),
    404: (_("Página no encontrada"), _("La dirección no corresponde a ninguna página.")),
    405: (_("Acción no permitida"), _("Esta página no acepta esa acción.")),
    413: (_("Archivo demasiado grande"), _("Lo enviado supera el tamaño permitido.")),
    429: (_("Demasiados intentos"), _("Espere unos minutos e intente nuevamente.")),
    500: (_("Ocurrió un error"), _("No pudimos atender su pedido; intente nuevamente.")),
}


class Paginas:
    """One Jinja2 environment per language (gettext installed in each, so `{% trans %}` and
    `_()` need nothing per request), the CSRF signer and the in-process API client."""

    def __init__(self, api: ApiInterna, csrf: Csrf) -> None:
        self.api = api
        self.csrf = csrf
        self.entornos: dict[str, Environment] = {}
        for codigo in idiomas.IDIOMAS:
            entorno = Environment(
                loader=FileSystemLoader(CARPETA / "plantillas"),
                autoescape=select_autoescape(["html", "svg"]),
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            entorno.install_gettext_translations(  # type: ignore[attr-defined]
                idiomas.traducciones(codigo), newstyle=True
            )
            self.entornos[codigo] = entorno

    def render(
        self,
        request: Request,
        plantilla: str,
        estado: int = 200,
        solo_personal: bool = False,
        sesion: str = "",
        **contexto: Any,
    ) -> HTMLResponse:
        """`plantilla` in the visitor's language; `sesion` binds the forms' CSRF token to a
        staff session (see seguridad.py)."""
        idioma = idiomas.elegido(request, solo_personal)
        html = (
            self.entornos[idioma.codigo]
            .get_template(plantilla)
            .render(
                request=request,
                idioma=idioma,
                idiomas=idiomas.ofrecidos(solo_personal),
                csrf_campo=CAMPO,
                csrf_token=self.csrf.token(request, sesion),
                **contexto,
            )
        )
        respuesta = HTMLResponse(html, status_code=estado, headers=CABECERAS)
        self.csrf.poner_cookie(request, respuesta)
        return respuesta

    def error(self, request: Request, estado: int) -> HTMLResponse:
        """An error page in the visitor's language: a path that is no page, a method a page
        does not take, a body too large."""
        titulo, mensaje = ERRORES.get(estado, ERRORES[500])
        return self.render(
            request,
            "error.html",
            estado=estado,
            titulo=self.texto(request, titulo),
            mensaje=self.texto(request, mensaje),
        )

    def texto(self, request: Request, mensaje: str, solo_personal: bool = False) -> str:
        """A catalog text in the visitor's language, for redirects' notices and the like."""
        codigo = idiomas.elegido(request, solo_personal).codigo
        return idiomas.traducciones(codigo).gettext(mensaje)


async def archivos_del_formulario(form: FormData) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The form's chosen files (field `archivos`) as httpx `files`. A file input left empty still
    sends one part, with no name and no bytes: that is no file."""
    return [
        ("archivos", (v.filename, await v.read(), v.content_type or "application/octet-stream"))
        for v in form.getlist("archivos")
        if isinstance(v, UploadFile) and v.filename
    ]


def paginas(request: Request) -> Paginas:
    return request.app.state.paginas


Renderer = Annotated[Paginas, Depends(paginas)]
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def inicio(request: Request, p: Renderer) -> HTMLResponse:
    return p.render(request, "inicio.html")


@router.get("/idioma/{codigo}")
async def cambiar_idioma(request: Request, codigo: str, volver: str = "/") -> Response:
    """The switch is a plain link: it remembers the choice for a year and goes back. Only a
    path of this site is followed (never `//otro.sitio`)."""
    if not volver.startswith("/") or volver.startswith("//") or "\\" in volver:
        volver = "/"
    respuesta = RedirectResponse(volver, status_code=303)
    if codigo in idiomas.IDIOMAS:
        respuesta.set_cookie(
            idiomas.COOKIE,
            codigo,
            max_age=UN_ANO,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return respuesta
