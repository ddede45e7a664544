"""Supervisor pages (Secretaría de Gestión Pública): overdue reclamos of every entity with filters,
the intervention form, the interventions per entity, and the reports as tables and SVG charts
(each chart's numbers also as CSV). Through /api/v1 with the account's supervisor credential."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.portal import graficos
from gateway.portal.paginas import Paginas, Renderer, _
from gateway.portal.personal import MOTIVOS, formulario, pagina, valido
from gateway.portal.sesiones import ConSesion, Sesion

router = APIRouter(include_in_schema=False, prefix="/supervisor")

NIVELES = {
    "nacional": _("Nacional"),
    "regional": _("Regional"),
    "local": _("Local"),
    "consulado": _("Consulados"),
}
IMPULSORES = {
    "tiempo": _("Tiempo"),
    "trato": _("Trato"),
    "informacion": _("Información"),
    "acceso": _("Acceso"),
    "resultado": _("Resultado"),
    "confianza": _("Confianza"),
}
GRAFICOS = {
    "a-tiempo": _("Respondidos a tiempo por mes (%)"),
    "dias": _("Días hábiles para responder, promedio por mes"),
    "motivos": _("Reclamos recibidos por motivo"),
    "satisfaccion": _("Satisfacción por impulsor (1 a 5)"),
}
ENCABEZADOS = {
    "a-tiempo": (_("Mes"), _("Porcentaje a tiempo")),
    "dias": (_("Mes"), _("Días hábiles")),
    "motivos": (_("Motivo"), _("Recibidos")),
    "satisfaccion": (_("Impulsor"), _("Promedio")),
}


def _supervisor(s: Sesion) -> None:
    if s.cuenta.rol != "supervisor":
        raise HTTPException(403)


@router.get("/vencidos", response_class=HTMLResponse)
async def vencidos(
    request: Request,
    p: Renderer,
    s: ConSesion,
    entidad: str = "",
    nivel: str = "",
    dias_min: str = "",
    cursor: str = "",
    hecho: str = "",
):
    _supervisor(s)
    filtros = {"entidad": entidad, "nivel": nivel, "dias_min": dias_min}
    params = {k: v for k, v in filtros.items() if v}
    if cursor:
        params["cursor"] = cursor
    params["limite"] = "20"
    r = await p.api.llamar(request, "GET", "/supervision/vencidos", s.credencial, params=params)
    errores = r.errores_por_campo() if r.estado == 422 else {}
    datos = r.datos if r.ok else {"items": [], "siguiente": None}
    aviso = p.texto(request, _("La intervención quedó registrada."), True) if hecho else None
    return pagina(
        p,
        request,
        s,
        "personal/vencidos.html",
        aviso=aviso,
        filtros=filtros,
        niveles=NIVELES,
        items=datos["items"],
        siguiente=datos.get("siguiente"),
        cursor=cursor,
        errores=errores,
    )


async def _intervencion(
    request: Request, p: Paginas, s: Sesion, codigo: str, estado: int = 200, **extra: Any
) -> HTMLResponse:
    return pagina(
        p,
        request,
        s,
        "personal/intervencion.html",
        estado=estado,
        codigo=codigo,
        **{"nota": "", "error": "", "fallo": "", **extra},
    )


@router.get("/reclamos/{codigo}/intervencion", response_class=HTMLResponse)
async def intervencion_form(request: Request, p: Renderer, s: ConSesion, codigo: str):
    _supervisor(s)
    return await _intervencion(request, p, s, valido(codigo))


@router.post("/reclamos/{codigo}/intervencion", response_class=HTMLResponse)
async def intervenir(request: Request, p: Renderer, s: ConSesion, codigo: str):
    datos = await formulario(request, p, s.id)
    _supervisor(s)
    valido(codigo)
    nota = str(datos.get("nota", ""))
    r = await p.api.llamar(
        request,
        "POST",
        f"/supervision/reclamos/{codigo}/intervencion",
        s.credencial,
        json={"nota": nota},
    )
    if r.ok:
        return RedirectResponse("/supervisor/vencidos?hecho=1", status_code=303)
    if r.estado in (404, 422) and "codigo" in r.errores_por_campo():
        raise HTTPException(404)
    if r.estado == 404:
        raise HTTPException(404)
    fallo = {
        409: _("El estado actual del reclamo no permite una intervención."),
        422: _("Revise los datos marcados."),
    }.get(r.estado, _("No se pudo completar la acción; intente nuevamente."))
    return await _intervencion(
        request,
        p,
        s,
        codigo,
        estado=r.estado if r.estado in (409, 422) else 502,
        nota=nota,
        error=r.errores_por_campo().get("nota", ""),
        fallo=p.texto(request, fallo, True),
    )


@router.get("/intervenciones", response_class=HTMLResponse)
async def intervenciones(request: Request, p: Renderer, s: ConSesion):
    _supervisor(s)
    r = await p.api.llamar(request, "GET", "/supervision/intervenciones", s.credencial)
    filas = r.datos if r.ok and isinstance(r.datos, list) else []
    return pagina(p, request, s, "personal/intervenciones.html", filas=filas)


# --- reports --------------------------------------------------------------------------------------


def datos_de_graficos(reporte: dict, t: Any) -> dict[str, list[tuple[str, float | None]]]:
    """Each chart's (label, value) pairs from GET /reportes; `t` translates a label."""
    por_mes = reporte["por_mes"]
    return {
        "a-tiempo": [(m["mes"], m["porcentaje_a_tiempo"]) for m in por_mes],
        "dias": [(m["mes"], m["dias_habiles_promedio"]) for m in por_mes],
        "motivos": [(t(MOTIVOS.get(k, k)), v) for k, v in reporte["total"]["por_motivo"].items()],
        "satisfaccion": [
            (t(IMPULSORES.get(k, k)), v) for k, v in reporte["total"]["impulsores"].items()
        ],
    }


async def _reporte(
    request: Request, p: Paginas, s: Sesion, params: dict[str, str]
) -> tuple[int, dict | None, dict[str, str]]:
    consulta = {k: v for k, v in params.items() if v}
    r = await p.api.llamar(request, "GET", "/reportes", s.credencial, params=consulta)
    return r.estado, (r.datos if r.ok else None), r.errores_por_campo()


@router.get("/reportes", response_class=HTMLResponse)
async def reportes(
    request: Request,
    p: Renderer,
    s: ConSesion,
    desde: str = "",
    hasta: str = "",
    entidad: str = "",
    nivel: str = "",
):
    _supervisor(s)
    filtros = {"desde": desde, "hasta": hasta, "entidad": entidad, "nivel": nivel}
    estado, reporte, errores = await _reporte(request, p, s, filtros)

    def t(texto: str) -> str:
        return p.texto(request, texto, True)

    graficos_ = []
    if reporte is not None:
        for nombre, datos in datos_de_graficos(reporte, t).items():
            titulo = t(GRAFICOS[nombre])
            if nombre in ("a-tiempo", "dias"):
                maximo = 100.0 if nombre == "a-tiempo" else None
                svg = graficos.svg_columnas(titulo, datos, maximo)
            else:
                svg = graficos.svg_filas(titulo, datos, 5.0 if nombre == "satisfaccion" else None)
            graficos_.append(
                {
                    "nombre": nombre,
                    "titulo": titulo,
                    "svg": svg,
                    "datos": [(e, graficos.numero(v)) for e, v in datos],
                    "encabezados": [t(e) for e in ENCABEZADOS[nombre]],
                }
            )
    consulta = urlencode({k: v for k, v in filtros.items() if v})
    return pagina(
        p,
        request,
        s,
        "personal/reportes.html",
        estado=200 if reporte is not None or estado == 422 else 502,
        filtros=filtros,
        niveles=NIVELES,
        reporte=reporte,
        graficos=graficos_,
        errores=errores,
        consulta=consulta,
        numero=graficos.numero,
    )


@router.get("/reportes/{nombre}.csv")
async def reporte_csv(
    request: Request,
    p: Renderer,
    s: ConSesion,
    nombre: str,
    desde: str = "",
    hasta: str = "",
    entidad: str = "",
    nivel: str = "",
):
    _supervisor(s)
    if nombre not in GRAFICOS:
        raise HTTPException(404)
    filtros = {"desde": desde, "hasta": hasta, "entidad": entidad, "nivel": nivel}
    _estado, reporte, _errores = await _reporte(request, p, s, filtros)
    if reporte is None:
        raise HTTPException(404)

    def t(texto: str) -> str:
        return p.texto(request, texto, True)

    datos = datos_de_graficos(reporte, t)[nombre]
    encabezados = ENCABEZADOS[nombre]
    cuerpo = graficos.a_csv((t(encabezados[0]), t(encabezados[1])), datos)
    return Response(
        cuerpo,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{nombre}.csv"',
            "Cache-Control": "no-store",
        },
    )
