"""Entity staff pages: sign in and out, the bandeja, one reclamo with its timeline and files, and
a form for every action of the procedure. Everything goes through /api/v1 with the signed-in
account's credential, so the API decides what the account sees (its entity; its unit, for a unit
account) and what it may do; these pages only show it and put the API's errors in words."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from comun.tiempo import LIMA
from gateway.portal import cuentas, sesiones
from gateway.portal.api import Respuesta
from gateway.portal.paginas import Paginas, Renderer, _, archivos_del_formulario
from gateway.portal.seguridad import CAMPO
from gateway.portal.sesiones import ConSesion, Sesion

router = APIRouter(include_in_schema=False)

ESTADOS = {
    "registrado": _("Registrado"),
    "derivado": _("Derivado"),
    "en_atencion": _("En atención"),
    "observado": _("Observado"),
    "subsanado": _("Subsanado"),
    "respondido": _("Respondido"),
    "cerrado": _("Cerrado"),
    "archivado": _("Archivado"),
    "desistido": _("Desistido"),
}
PASOS = {
    **ESTADOS,
    "reasignado": _("Reasignado"),
    "trasladado": _("Trasladado"),
    "intervencion": _("Intervención de la SGP"),
    "adjuntado": _("Archivos agregados"),
}
MOTIVOS = {
    "trato": _("Trato recibido"),
    "tiempo": _("Tiempo de espera"),
    "procedimiento": _("Procedimiento"),
    "infraestructura": _("Infraestructura"),
    "informacion": _("Información"),
    "resultado": _("Resultado del servicio"),
    "confianza": _("Confianza"),
    "disponibilidad": _("Disponibilidad"),
    "otros": _("Otros"),
}
ACCIONES = {
    "atencion": _("El reclamo quedó en atención."),
    "observacion": _("Se envió la observación al ciudadano."),
    "reasignacion": _("El reclamo fue reasignado."),
    "traslado": _("El reclamo fue trasladado."),
    "respuesta": _("La respuesta fue enviada al ciudadano."),
    "respuesta_adjuntos": _("La respuesta y sus archivos fueron enviados al ciudadano."),
    "adjuntos": _("Los archivos fueron adjuntados; el ciudadano los verá en su seguimiento."),
}
# The fields each action's form sends, as the API names them (its 422 names them the same).
CAMPOS = {
    "atencion": (),
    "observacion": ("observacion",),
    "reasignacion": ("unidad_id", "razon"),
    "traslado": ("entidad_id", "razon"),
    "respuesta": ("texto",),
}
# A path's código and file id are checked here before they go into an API path.
CODIGO = re.compile(r"R(-[2-9A-Z]{4}){3}")
ADJUNTO = re.compile(r"[0-9a-f]{24}")
FINALES = {"respondido", "cerrado", "archivado", "desistido"}
NO_PERMITIDO = _("El estado actual del reclamo no permite esta acción.")
PROBLEMA = _("No se pudo completar la acción; intente nuevamente.")
DATOS_INVALIDOS = _("Revise los datos marcados.")
SIN_ADJUNTAR = _(
    "La respuesta fue enviada, pero los archivos NO se adjuntaron. Vuelva a adjuntarlos con el "
    "formulario «Adjuntar archivos a la respuesta»."
)
ADJUNTOS_RECHAZADOS = _("Los archivos no se adjuntaron. Revise el motivo junto al campo.")
# A reclamo that ended takes no more files (registro refuses them with a 409 too).
TERMINADOS = {"cerrado", "archivado", "desistido"}


def valido(codigo: str, patron: re.Pattern[str] = CODIGO) -> str:
    """`codigo` if it has the shape of one; else this page does not exist."""
    if not patron.fullmatch(codigo):
        raise HTTPException(404)
    return codigo


def fecha(valor: str | None) -> str:
    """An API timestamp as Lima's local day and time."""
    if not valor:
        return ""
    try:
        momento = datetime.fromisoformat(valor.replace("Z", "+00:00"))
    except ValueError:
        return valor
    return momento.astimezone(LIMA).strftime("%d/%m/%Y %H:%M")


def contexto(p: Paginas, request: Request, s: Sesion, **extra: Any) -> dict[str, Any]:
    return {
        "cuenta": s.cuenta,
        "estados": ESTADOS,
        "pasos": PASOS,
        "motivos": MOTIVOS,
        "fecha": fecha,
        **extra,
    }


def pagina(
    p: Paginas, request: Request, s: Sesion, plantilla: str, estado: int = 200, **extra: Any
) -> HTMLResponse:
    aviso = extra.pop("aviso", None)
    return p.render(
        request,
        plantilla,
        estado=estado,
        solo_personal=True,
        sesion=s.id,
        aviso=aviso,
        **contexto(p, request, s, **extra),
    )


async def formulario(request: Request, p: Paginas, sesion_id: str) -> FormData:
    """The posted form, if its CSRF token is this browser's and this session's; else 403."""
    datos = await request.form()
    enviado = datos.get(CAMPO)
    if not p.csrf.valido(request, enviado if isinstance(enviado, str) else None, sesion_id):
        raise HTTPException(403)
    return datos


# --- sign in and out ------------------------------------------------------------------------------


def _ingreso(
    p: Paginas, request: Request, volver: str, error: str = "", estado: int = 200, **extra: Any
) -> HTMLResponse:
    return p.render(
        request,
        "personal/ingresar.html",
        estado=estado,
        solo_personal=True,
        volver=volver,
        error=error,
        **extra,
    )


@router.get("/personal/ingresar", response_class=HTMLResponse)
async def ingresar_form(request: Request, p: Renderer, volver: str = "", salio: int = 0):
    # Shown even to a signed-in browser: someone else may sign in on it (the old session ends).
    aviso = p.texto(request, _("Cerró su sesión."), True) if salio else None
    return _ingreso(p, request, sesiones.volver_seguro(volver, ""), aviso=aviso)


@router.post("/personal/ingresar", response_class=HTMLResponse)
async def ingresar(request: Request, p: Renderer):
    datos = await formulario(request, p, "")
    usuario = str(datos.get("usuario", ""))[:200]
    clave = str(datos.get("clave", ""))[:1000]
    volver = sesiones.volver_seguro(str(datos.get("volver", "")), "")
    almacen = sesiones.de_la_app(request)
    resultado, cuenta = await run_in_threadpool(
        cuentas.autenticar, almacen.db, usuario, clave, almacen.reloj
    )
    if cuenta is None:
        if resultado == cuentas.Resultado.bloqueado:
            mensaje = _(
                "Demasiados intentos fallidos: espere 15 minutos o pida al administrador que "
                "desbloquee su cuenta."
            )
        else:
            mensaje = _("Usuario o contraseña incorrectos.")
        return _ingreso(
            p, request, volver, p.texto(request, mensaje, True), estado=401, usuario=usuario
        )
    # A new id at every sign-in; the one this browser had (if any) is ended.
    await run_in_threadpool(almacen.cerrar, request.cookies.get(sesiones.COOKIE, ""))
    sesion_id = await run_in_threadpool(almacen.abrir, cuenta)
    defecto = "/supervisor/vencidos" if cuenta.rol == "supervisor" else "/personal/bandeja"
    respuesta = RedirectResponse(volver or defecto, status_code=303)
    sesiones.poner_cookie(request, respuesta, sesion_id)
    return respuesta


@router.post("/personal/salir")
async def salir(request: Request, p: Renderer, s: ConSesion):
    await formulario(request, p, s.id)
    await run_in_threadpool(sesiones.de_la_app(request).cerrar, s.id)
    respuesta = RedirectResponse("/personal/ingresar?salio=1", status_code=303)
    respuesta.delete_cookie(sesiones.COOKIE, path="/")
    return respuesta


# --- the bandeja ----------------------------------------------------------------------------------


@router.get("/personal/bandeja", response_class=HTMLResponse)
async def bandeja(
    request: Request,
    p: Renderer,
    s: ConSesion,
    estado: str = "",
    motivo: str = "",
    vencido: str = "",
    unidad: str = "",
    cursor: str = "",
):
    filtros = {"estado": estado, "motivo": motivo, "vencido": vencido, "unidad": unidad}
    params = {k: v for k, v in filtros.items() if v}
    if cursor:
        params["cursor"] = cursor
    params["limite"] = "20"
    r = await p.api.llamar(request, "GET", "/bandeja", s.credencial, params=params)
    errores = r.errores_por_campo() if r.estado == 422 else {}
    datos = r.datos if r.ok else {"items": [], "siguiente": None}
    return pagina(
        p,
        request,
        s,
        "personal/bandeja.html",
        estado=200 if r.ok or r.estado == 422 else r.estado,
        filtros=filtros,
        items=datos["items"],
        siguiente=datos.get("siguiente"),
        cursor=cursor,
        errores=errores,
        sin_api=not r.ok and r.estado != 422,
    )


# --- one reclamo ----------------------------------------------------------------------------------


async def _adjuntos(request: Request, p: Paginas, s: Sesion, reclamo: dict) -> list[dict]:
    """The citizen's files. The bandeja entry does not list them; the reclamo's tracking does,
    and the entity holds the document number it is asked for (its contact data)."""
    if s.cuenta.rol != "entidad":
        return []
    consulta = {
        "codigo": reclamo["codigo"],
        "numero_documento": reclamo["contacto"]["numero_documento"],
    }
    r = await p.api.llamar(request, "POST", "/seguimiento", json=consulta)
    return r.datos.get("adjuntos", []) if r.ok else []


async def _detalle(
    request: Request,
    p: Paginas,
    s: Sesion,
    codigo: str,
    estado: int = 200,
    aviso: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    r = await p.api.llamar(request, "GET", f"/bandeja/{valido(codigo)}", s.credencial)
    if r.estado in (404, 422):
        raise HTTPException(404)
    if not r.ok:
        raise HTTPException(403 if r.estado == 403 else 500)
    reclamo = r.datos
    return pagina(
        p,
        request,
        s,
        "personal/reclamo.html",
        estado=estado,
        aviso=aviso,
        reclamo=reclamo,
        adjuntos=await _adjuntos(request, p, s, reclamo),
        acciones=s.cuenta.rol == "entidad" and reclamo["estado"] not in FINALES,
        # Once answered, the answer's files may still come; or whenever sending them failed.
        adjuntar=s.cuenta.rol == "entidad"
        and reclamo["estado"] not in TERMINADOS
        and (reclamo["estado"] == "respondido" or extra.get("fallo_accion") == "adjuntos"),
        **{"enviado": {}, "errores": {}, "fallo": None, "fallo_accion": None, **extra},
    )


@router.get("/personal/reclamos/{codigo}", response_class=HTMLResponse)
async def ver(request: Request, p: Renderer, s: ConSesion, codigo: str, hecho: str = ""):
    aviso = p.texto(request, ACCIONES[hecho], True) if hecho in ACCIONES else None
    return await _detalle(request, p, s, codigo, aviso=aviso)


@router.get("/personal/reclamos/{codigo}/adjuntos/{adjunto_id}")
async def descargar(request: Request, p: Renderer, s: ConSesion, codigo: str, adjunto_id: str):
    ruta = f"/bandeja/{valido(codigo)}/adjuntos/{valido(adjunto_id, ADJUNTO)}"
    r = await p.api.llamar(request, "GET", ruta, s.credencial)
    if r.estado != 200:
        raise HTTPException(404 if r.estado in (404, 422) else 403)
    pasan = ("content-disposition", "x-contenido-sha256")
    cabeceras = {k: r.cabeceras[k] for k in pasan if k in r.cabeceras}
    cabeceras["Cache-Control"] = "no-store"
    return Response(r.contenido, media_type="application/octet-stream", headers=cabeceras)


def _errores_de_archivos(r: Respuesta) -> dict[str, str]:
    """The API names a file `archivos.3`; the form has one field for them all."""
    mensajes = [m for c, m in r.errores_por_campo().items() if c.split(".")[0] == "archivos"]
    if not mensajes and r.mensaje:
        mensajes = [r.mensaje]
    return {"archivos": " ".join(dict.fromkeys(mensajes))} if mensajes else {}


async def _subir(request: Request, p: Paginas, s: Sesion, codigo: str, partes: list) -> Respuesta:
    return await p.api.llamar(
        request, "POST", f"/bandeja/{codigo}/adjuntos", s.credencial, files=partes
    )


@router.post("/personal/reclamos/{codigo}/adjuntos", response_class=HTMLResponse)
async def adjuntar(request: Request, p: Renderer, s: ConSesion, codigo: str):
    """The files of the entity's answer, on their own (after the answer, or when sending them
    with it failed)."""
    valido(codigo)
    datos = await formulario(request, p, s.id)
    if s.cuenta.rol != "entidad":
        raise HTTPException(403)
    partes = await archivos_del_formulario(datos)
    if not partes:
        errores = {"archivos": p.texto(request, _("Elija al menos un archivo."), True)}
        return await _detalle(
            request,
            p,
            s,
            codigo,
            estado=422,
            errores={"adjuntos": errores},
            fallo=p.texto(request, ADJUNTOS_RECHAZADOS, True),
            fallo_accion="adjuntos",
        )
    r = await _subir(request, p, s, codigo, partes)
    if r.ok:
        return RedirectResponse(f"/personal/reclamos/{codigo}?hecho=adjuntos", status_code=303)
    if r.estado == 404:
        raise HTTPException(404)
    return await _detalle(
        request,
        p,
        s,
        codigo,
        estado=r.estado if r.estado in (409, 413, 422) else 502,
        errores={"adjuntos": _errores_de_archivos(r)},
        fallo=p.texto(request, NO_PERMITIDO if r.estado == 409 else ADJUNTOS_RECHAZADOS, True),
        fallo_accion="adjuntos",
    )


@router.post("/personal/reclamos/{codigo}/{accion}", response_class=HTMLResponse)
async def actuar(request: Request, p: Renderer, s: ConSesion, codigo: str, accion: str):
    if accion not in CAMPOS:
        raise HTTPException(404)
    valido(codigo)
    datos = await formulario(request, p, s.id)
    if s.cuenta.rol != "entidad":
        raise HTTPException(403)
    enviado = {c: str(datos.get(c, "")) for c in CAMPOS[accion]}
    cuerpo = enviado if CAMPOS[accion] else None
    r = await p.api.llamar(
        request, "POST", f"/bandeja/{codigo}/{accion}", s.credencial, json=cuerpo
    )
    if r.ok:
        partes = await archivos_del_formulario(datos) if accion == "respuesta" else []
        if partes:
            # The answer stands whatever happens to its files: if they are refused, the page
            # says so and offers the form to attach them again.
            subida = await _subir(request, p, s, codigo, partes)
            if not subida.ok:
                return await _detalle(
                    request,
                    p,
                    s,
                    codigo,
                    estado=subida.estado if subida.estado in (409, 413, 422) else 502,
                    errores={"adjuntos": _errores_de_archivos(subida)},
                    fallo=p.texto(request, SIN_ADJUNTAR, True),
                    fallo_accion="adjuntos",
                )
            accion = "respuesta_adjuntos"
        return RedirectResponse(f"/personal/reclamos/{codigo}?hecho={accion}", status_code=303)
    if r.estado == 404:
        raise HTTPException(404)
    if r.estado == 409:
        fallo = NO_PERMITIDO
    elif r.estado == 422:
        fallo = DATOS_INVALIDOS
    else:
        fallo = PROBLEMA
    return await _detalle(
        request,
        p,
        s,
        codigo,
        estado=r.estado if r.estado in (409, 422) else 502,
        enviado={accion: enviado},
        errores={accion: r.errores_por_campo()},
        fallo=p.texto(request, fallo, True),
        fallo_accion=accion,
    )
