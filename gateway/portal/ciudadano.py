"""The citizen's pages, with no account: file a reclamo (with files), its constancia, follow it
with código + document (download its files, answer an observación, desist) and answer the
satisfaction survey the mail links to. Everything goes through /api/v1 (`ApiInterna`): the pages
only turn forms into the API's bodies and its answers (and 422 `detalle`) into pages.

The document number never travels in a URL: every page that needs it is the answer of a POST,
and the forms on it carry it in hidden fields (pages are `Cache-Control: no-store`)."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from gateway.portal import idiomas
from gateway.portal.api import Respuesta
from gateway.portal.paginas import Paginas, Renderer, _, archivos_del_formulario

LIMA = ZoneInfo("America/Lima")  # Peru keeps no daylight saving: the facts' hour is Lima's
PLAZO_DIAS_HABILES = 30  # DESIGN.md §2: the entity answers within 30 business days
MAX_ARCHIVOS = 10
_CLAVE = re.compile(r"^[0-9a-f-]{36}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_ADJUNTO = re.compile(r"^[0-9a-f]{24}$")


# Readable labels of the API's enum values, translated when shown.
TIPOS_DOCUMENTO = {
    "dni": _("DNI"),
    "carne_extranjeria": _("Carné de extranjería"),
    "pasaporte": _("Pasaporte"),
    "ruc": _("RUC"),
}
MOTIVOS = {
    "trato": _("Mal trato o mala atención"),
    "tiempo": _("Demora o tiempo de espera"),
    "procedimiento": _("Problemas con el trámite o procedimiento"),
    "infraestructura": _("Estado de las instalaciones"),
    "informacion": _("Información falta, es confusa o errada"),
    "resultado": _("No se obtuvo el resultado esperado"),
    "confianza": _("Falta de transparencia o integridad"),
    "disponibilidad": _("Servicio no disponible"),
    "otros": _("Otro motivo"),
}
MEDIOS = {
    "email": _("Por correo electrónico"),
    "telefono": _("Por teléfono"),
    "sede": _("Recogerla en la sede de la entidad"),
}
ESTADOS = {
    "registrado": _("Registrado"),
    "derivado": _("Derivado a la oficina que lo atiende"),
    "en_atencion": _("En atención"),
    "observado": _("Observado: la entidad le pide información"),
    "subsanado": _("Información enviada"),
    "respondido": _("Respondido"),
    "cerrado": _("Cerrado"),
    "archivado": _("Archivado"),
    "desistido": _("Desistido"),
}
IMPULSORES = {
    "tiempo": _("El tiempo que tomó"),
    "trato": _("El trato recibido"),
    "informacion": _("La información que le dieron"),
    "acceso": _("La facilidad para presentar y seguir su reclamo"),
    "resultado": _("El resultado"),
    "confianza": _("La confianza que le inspira la entidad"),
}
PREGUNTAS = {
    "satisfaccion": _("En general, ¿qué tan satisfecho está con la atención de su reclamo?"),
    "resuelto": _("¿La respuesta resolvió su problema?"),
    "impulsores": _("Califique cada aspecto de la atención"),
}
ESCALA = {
    1: _("1 · Muy insatisfecho"),
    2: _("2 · Insatisfecho"),
    3: _("3 · Ni satisfecho ni insatisfecho"),
    4: _("4 · Satisfecho"),
    5: _("5 · Muy satisfecho"),
}
# The API's Spanish messages a citizen meets most; others are shown as the API says them.
MENSAJES_API = (
    _("Campo obligatorio"),
    _("El DNI debe tener 8 dígitos"),
    _("El RUC debe tener 11 dígitos"),
    _("Debe indicar al menos un correo electrónico o un teléfono"),
    _("Para responder por correo debe indicar su correo electrónico"),
    _("Para responder por teléfono debe indicar su número de teléfono"),
    _("Debe aceptar el aviso de privacidad"),
    _("La fecha y hora de los hechos no puede ser futura"),
    _("El teléfono debe tener entre 7 y 15 dígitos (con «+» opcional)"),
    _("Debe ser un correo electrónico válido"),
)
# Where the API's field (dot path in a 422 `detalle`, without the multipart's "hoja.") is shown
# in the form; the longest matching prefix wins, the rest go to the summary only.
CAMPOS_DE_LA_HOJA = {
    "ciudadano": "email",  # "give an email or a phone"
    "ciudadano.documento": "numero_documento",
    "ciudadano.documento.tipo": "tipo_documento",
    "ciudadano.documento.numero": "numero_documento",
    "ciudadano.nombres": "nombres",
    "ciudadano.apellidos": "apellidos",
    "ciudadano.email": "email",
    "ciudadano.telefono": "telefono",
    "ciudadano.direccion": "direccion",
    "ciudadano.es_menor": "es_menor",
    "ciudadano.representante": "es_menor",
    "ciudadano.representante.documento": "rep_numero_documento",
    "ciudadano.representante.documento.tipo": "rep_tipo_documento",
    "ciudadano.representante.documento.numero": "rep_numero_documento",
    "ciudadano.representante.nombres": "rep_nombres",
    "ciudadano.representante.apellidos": "rep_apellidos",
    "entidad_id": "entidad_id",
    "sede": "sede",
    "ocurrido_en": "fecha",
    "motivo": "motivo",
    "descripcion": "descripcion",
    "pedido": "pedido",
    "medio_respuesta": "medio_respuesta",
    "acepta_privacidad": "acepta_privacidad",
    "adjuntos": "archivos",
    "archivos": "archivos",
    "cuerpo": "archivos",
}
TEXTOS_DE_LA_HOJA = (
    "tipo_documento",
    "numero_documento",
    "nombres",
    "apellidos",
    "email",
    "telefono",
    "direccion",
    "rep_tipo_documento",
    "rep_numero_documento",
    "rep_nombres",
    "rep_apellidos",
    "entidad_id",
    "sede",
    "fecha",
    "hora",
    "motivo",
    "descripcion",
    "pedido",
    "medio_respuesta",
)
ANTES_DE_LA_RESPUESTA = {"registrado", "derivado", "en_atencion", "observado", "subsanado"}

router = APIRouter(include_in_schema=False)


# --- Helpers -------------------------------------------------------------------------------------


def _locale(request: Request) -> str:
    """Babel has no Quechua or Aymara date formats worth trusting: they use Spanish ones."""
    codigo = idiomas.elegido(request).codigo
    return codigo if codigo in ("es", "en") else "es"


def _fecha(request: Request, valor: str | date | datetime | None, con_hora: bool = False) -> str:
    """An API date (ISO text, UTC) as a reader of the page's language writes it, in Lima."""
    if not valor:
        return ""
    if isinstance(valor, str):
        valor = datetime.fromisoformat(valor) if "T" in valor else date.fromisoformat(valor)
    local = _locale(request)
    if isinstance(valor, datetime):
        lima = valor.astimezone(LIMA)
        texto = format_date(lima.date(), "long", locale=local)
        return f"{texto}, {format_time(lima.time(), 'short', locale=local)}" if con_hora else texto
    return format_date(valor, "long", locale=local)


def _clave(enviada: str | None = None) -> str:
    """The form's idempotency key: the one it carried, or a new one."""
    return enviada if enviada and _CLAVE.match(enviada) else str(uuid.uuid4())


def _texto(form: FormData, campo: str) -> str:
    valor = form.get(campo)
    return valor.strip() if isinstance(valor, str) else ""


def _campo_del_formulario(campo: str) -> str:
    campo = campo.removeprefix("hoja.").removeprefix("hoja")
    partes = campo.split(".") if campo else []
    for n in range(len(partes), 0, -1):
        destino = CAMPOS_DE_LA_HOJA.get(".".join(partes[:n]))
        if destino:
            return destino
    return "general"


def _errores(p: Paginas, request: Request, r: Respuesta, mapa: dict[str, str]) -> dict[str, str]:
    """The API's refusal as {form field: message in the page's language}."""
    errores: dict[str, str] = {}
    for campo, mensaje in r.errores_por_campo().items():
        destino = mapa.get(campo) or _campo_del_formulario(campo)
        errores.setdefault(destino, p.texto(request, mensaje))
    if not errores:
        errores["general"] = _mensaje_de_estado(p, request, r)
    return errores


def _mensaje_de_estado(p: Paginas, request: Request, r: Respuesta) -> str:
    if r.estado == 429:
        espera = r.cabeceras.get("retry-after", "")
        minutos = max(1, -(-int(espera) // 60)) if espera.isdigit() else 0
        if minutos:
            return p.texto(
                request,
                _("Hizo demasiados intentos. Espere %(minutos)s minutos e intente de nuevo."),
            ) % {"minutos": minutos}
        return p.texto(
            request, _("Hizo demasiados intentos. Espere unos minutos e intente de nuevo.")
        )
    if r.estado == 413:
        return p.texto(request, _("Los archivos superan los 20 MB permitidos en total."))
    if r.estado >= 500:
        return p.texto(
            request, _("No pudimos atender su pedido; intente nuevamente en unos minutos.")
        )
    return p.texto(request, r.mensaje) if r.mensaje else p.texto(request, _("Hay datos inválidos."))


def _sin_csrf(p: Paginas, request: Request, form: FormData) -> HTMLResponse | None:
    enviado = form.get("csrf")
    if p.csrf.valido(request, enviado if isinstance(enviado, str) else None):
        return None
    return p.error(request, 403)


def _comun(request: Request) -> dict[str, Any]:
    """What every citizen template uses: labels and the date formatter."""
    return {
        "TIPOS_DOCUMENTO": TIPOS_DOCUMENTO,
        "MOTIVOS": MOTIVOS,
        "MEDIOS": MEDIOS,
        "ESTADOS": ESTADOS,
        "fecha": lambda v, con_hora=False: _fecha(request, v, con_hora),
    }


# --- Filing a reclamo ----------------------------------------------------------------------------


def _orden(nombre: str) -> str:
    sin_tildes = unicodedata.normalize("NFKD", nombre).encode("ascii", "ignore").decode()
    return sin_tildes.casefold()


async def _entidades(p: Paginas, request: Request) -> list[tuple[str, list[dict]]]:
    """The entities by the initial of their name, in alphabetical order (about 300 in
    production: a long flat list is hard to scan on a phone, the groups help)."""
    r = await p.api.llamar(request, "GET", "/entidades")
    entidades = r.datos if r.ok and isinstance(r.datos, list) else []
    grupos: dict[str, list[dict]] = {}
    for e in sorted(entidades, key=lambda e: _orden(e.get("nombre") or e["id"])):
        inicial = (_orden(e.get("nombre") or e["id"])[:1] or "?").upper()
        grupos.setdefault(inicial, []).append(e)
    return list(grupos.items())


def _ocurrido_en(fecha: str, hora: str) -> str | None:
    try:
        dia = date.fromisoformat(fecha)
        momento = time.fromisoformat(hora)
    except ValueError:
        return None
    return datetime.combine(dia, momento, tzinfo=LIMA).isoformat()


def _hoja(v: dict[str, str], es_menor: bool, acepta: bool) -> dict[str, Any]:
    """The form as the API's `HojaReclamacion`. An empty choice is left out, so the API says
    "obligatorio" rather than listing the valid values."""

    def documento(tipo: str, numero: str) -> dict[str, str]:
        return {k: x for k, x in (("tipo", v[tipo]), ("numero", v[numero])) if x}

    ciudadano: dict[str, Any] = {
        "documento": documento("tipo_documento", "numero_documento"),
        "nombres": v["nombres"],
        "apellidos": v["apellidos"],
        "email": v["email"] or None,
        "telefono": v["telefono"] or None,
        "direccion": v["direccion"] or None,
        "es_menor": es_menor,
    }
    if es_menor:
        ciudadano["representante"] = {
            "documento": documento("rep_tipo_documento", "rep_numero_documento"),
            "nombres": v["rep_nombres"],
            "apellidos": v["rep_apellidos"],
        }
    hoja: dict[str, Any] = {
        "canal": "virtual",
        "ciudadano": ciudadano,
        "sede": v["sede"] or None,
        "descripcion": v["descripcion"],
        "pedido": v["pedido"],
        "acepta_privacidad": acepta,
    }
    for campo in ("entidad_id", "motivo", "medio_respuesta"):
        if v[campo]:
            hoja[campo] = v[campo]
    if ocurrido := _ocurrido_en(v["fecha"], v["hora"]):
        hoja["ocurrido_en"] = ocurrido
    return hoja


async def _formulario_nuevo(
    p: Paginas,
    request: Request,
    valores: dict[str, str] | None = None,
    errores: dict[str, str] | None = None,
    clave: str | None = None,
    es_menor: bool = False,
    acepta: bool = False,
    habia_archivos: bool = False,
    estado: int = 200,
) -> HTMLResponse:
    return p.render(
        request,
        "ciudadano/nuevo.html",
        estado=estado,
        v=valores or dict.fromkeys(TEXTOS_DE_LA_HOJA, ""),
        errores=errores or {},
        clave=clave or _clave(),
        es_menor=es_menor,
        acepta=acepta,
        habia_archivos=habia_archivos,
        entidades=await _entidades(p, request),
        hoy=datetime.now(LIMA).date().isoformat(),
        **_comun(request),
    )


@router.get("/reclamos/nuevo", response_class=HTMLResponse)
async def nuevo(request: Request, p: Renderer) -> HTMLResponse:
    return await _formulario_nuevo(p, request)


@router.post("/reclamos/nuevo", response_class=HTMLResponse)
async def presentar(request: Request, p: Renderer) -> HTMLResponse:
    """Files the hoja (with its files, multipart, if any). The constancia is this POST's answer,
    not a page of its own behind a redirect: it shows personal data, and a URL with the código
    would show them to whoever learns the código (a redirect could carry nothing else without a
    server-side session). A refresh re-sends the form with the same Idempotency-Key, so the API
    answers the same reclamo again instead of filing a second one."""
    form = await request.form(max_files=MAX_ARCHIVOS + 2, max_fields=40)
    try:
        if rechazo := _sin_csrf(p, request, form):
            return rechazo
        valores = {c: _texto(form, c) for c in TEXTOS_DE_LA_HOJA}
        es_menor = form.get("es_menor") == "si"
        acepta = form.get("acepta_privacidad") == "si"
        clave = _clave(_texto(form, "clave"))
        archivos = await archivos_del_formulario(form)
    finally:
        await form.close()
    hoja = _hoja(valores, es_menor, acepta)
    locales: dict[str, str] = {}
    if valores["fecha"] and valores["hora"] and "ocurrido_en" not in hoja:
        locales["fecha"] = p.texto(request, _("Indique una fecha y una hora válidas."))
    elif valores["fecha"] and not valores["hora"]:
        locales["hora"] = p.texto(request, _("Indique la hora aproximada de los hechos."))
    cabeceras = {"Idempotency-Key": clave}
    if archivos:
        r = await p.api.llamar(
            request,
            "POST",
            "/reclamos/con-adjuntos",
            data={"hoja": json.dumps(hoja, ensure_ascii=False)},
            files=archivos,
            headers=cabeceras,
        )
    else:
        r = await p.api.llamar(request, "POST", "/reclamos", json=hoja, headers=cabeceras)
    if r.ok and not locales:
        entidad = next(
            (
                e
                for _i, g in await _entidades(p, request)
                for e in g
                if e["id"] == hoja["entidad_id"]
            ),
            {"nombre": hoja["entidad_id"]},
        )
        return p.render(
            request,
            "ciudadano/constancia.html",
            r=r.datos,
            hoja=hoja,
            v=valores,
            entidad=entidad,
            **_comun(request),
        )
    errores = {**_errores(p, request, r, {}), **locales} if not r.ok else locales
    # A refused form filed nothing: its correction is a new operation with a new key.
    return await _formulario_nuevo(
        p,
        request,
        valores,
        errores,
        None,
        es_menor,
        acepta,
        habia_archivos=bool(archivos),
        estado=429 if r.estado == 429 else 422,
    )


# --- Tracking ------------------------------------------------------------------------------------


async def _seguir(p: Paginas, request: Request, codigo: str, documento: str) -> Respuesta:
    return await p.api.llamar(
        request, "POST", "/seguimiento", json={"codigo": codigo, "numero_documento": documento}
    )


def _consulta(
    p: Paginas,
    request: Request,
    codigo: str = "",
    errores: dict[str, str] | None = None,
    estado: int = 200,
) -> HTMLResponse:
    return p.render(
        request,
        "ciudadano/seguimiento.html",
        estado=estado,
        codigo=codigo,
        errores=errores or {},
        **_comun(request),
    )


def _no_encontrado(p: Paginas, request: Request, r: Respuesta, codigo: str) -> HTMLResponse:
    """The lookup refused: one message whether the código or the document was wrong."""
    if r.estado == 404:
        mensaje = p.texto(
            request,
            _("No encontramos un reclamo con ese código y ese número de documento. Revise ambos."),
        )
        return _consulta(p, request, codigo, {"general": mensaje}, 404)
    if r.estado == 422:
        mapa = {"codigo": "codigo", "numero_documento": "numero_documento"}
        return _consulta(p, request, codigo, _errores(p, request, r, mapa), 422)
    return _consulta(p, request, codigo, {"general": _mensaje_de_estado(p, request, r)}, r.estado)


def _reclamo(
    p: Paginas,
    request: Request,
    visto: dict[str, Any],
    documento: str,
    aviso: str = "",
    errores: dict[str, str] | None = None,
    valores: dict[str, str] | None = None,
    estado: int = 200,
) -> HTMLResponse:
    encuesta = None
    if visto.get("encuesta"):  # the API's link; the page of this site answers it
        encuesta = "/encuestas/" + visto["encuesta"].rstrip("/").rsplit("/", 1)[1]
    usados = visto.get("dias_habiles_usados")
    return p.render(
        request,
        "ciudadano/reclamo.html",
        estado=estado,
        s=visto,
        documento=documento,
        aviso=aviso,
        errores=errores or {},
        valores=valores or {},
        encuesta=encuesta,
        plazo=PLAZO_DIAS_HABILES,
        restantes=max(PLAZO_DIAS_HABILES - usados, 0) if usados is not None else None,
        puede_desistir=visto["estado"] in ANTES_DE_LA_RESPUESTA,
        clave_subsanacion=_clave(),
        clave_desistimiento=_clave(),
        **_comun(request),
    )


@router.get("/seguimiento", response_class=HTMLResponse)
async def seguimiento(request: Request, p: Renderer) -> HTMLResponse:
    return _consulta(p, request)


@router.post("/seguimiento", response_class=HTMLResponse)
async def consultar(request: Request, p: Renderer) -> HTMLResponse:
    form = await request.form(max_files=0, max_fields=10)
    if rechazo := _sin_csrf(p, request, form):
        return rechazo
    codigo, documento = _texto(form, "codigo"), _texto(form, "numero_documento")
    r = await _seguir(p, request, codigo, documento)
    if not r.ok:
        return _no_encontrado(p, request, r, codigo)
    return _reclamo(p, request, r.datos, documento)


async def _despues_de_tramitar(
    p: Paginas,
    request: Request,
    codigo: str,
    documento: str,
    r: Respuesta,
    aviso: str,
    mapa: dict[str, str],
    valores: dict[str, str],
) -> HTMLResponse:
    """The reclamo again after a subsanación or a desistimiento: with the notice, or with the
    refusal next to the form's fields (the form kept filled)."""
    visto = await _seguir(p, request, codigo, documento)
    if not visto.ok:
        return _no_encontrado(p, request, visto, codigo)
    if r.ok:
        return _reclamo(p, request, visto.datos, documento, aviso=aviso)
    errores = _errores(p, request, r, mapa)
    estado = r.estado if r.estado in (409, 422, 429) else 422
    return _reclamo(
        p, request, visto.datos, documento, errores=errores, valores=valores, estado=estado
    )


@router.post("/seguimiento/subsanacion", response_class=HTMLResponse)
async def subsanar(request: Request, p: Renderer) -> HTMLResponse:
    """The answer to an observación, then its files (the API takes the files of a reclamo
    apart from the subsanación's text): the text first, so a refused text uploads nothing."""
    form = await request.form(max_files=MAX_ARCHIVOS + 2, max_fields=10)
    try:
        if rechazo := _sin_csrf(p, request, form):
            return rechazo
        codigo, documento = _texto(form, "codigo"), _texto(form, "numero_documento")
        texto, clave = _texto(form, "texto"), _clave(_texto(form, "clave"))
        archivos = await archivos_del_formulario(form)
    finally:
        await form.close()
    if not re.fullmatch(r"[A-Z0-9-]{4,40}", codigo):
        return _consulta(p, request, "", None, 422)
    r = await p.api.llamar(
        request,
        "POST",
        f"/reclamos/{codigo}/subsanacion",
        json={"numero_documento": documento, "texto": texto},
        headers={"Idempotency-Key": clave},
    )
    if r.ok and archivos:
        subida = await p.api.llamar(
            request,
            "POST",
            f"/reclamos/{codigo}/adjuntos",
            data={"numero_documento": documento},
            files=archivos,
            headers={"Idempotency-Key": clave + "-archivos"},
        )
        if not subida.ok:
            aviso = p.texto(request, _("Su información se envió, pero sus archivos no: %(motivo)s"))
            motivo = "; ".join(_errores(p, request, subida, {}).values())
            return await _despues_de_tramitar(
                p, request, codigo, documento, r, aviso % {"motivo": motivo}, {}, {}
            )
    aviso = p.texto(request, _("Enviamos su información a la entidad."))
    mapa = {"texto": "texto", "archivos": "archivos_subsanacion"}
    return await _despues_de_tramitar(
        p, request, codigo, documento, r, aviso, mapa, {"texto": texto}
    )


@router.post("/seguimiento/desistimiento", response_class=HTMLResponse)
async def desistir(request: Request, p: Renderer) -> HTMLResponse:
    form = await request.form(max_files=0, max_fields=10)
    if rechazo := _sin_csrf(p, request, form):
        return rechazo
    codigo, documento = _texto(form, "codigo"), _texto(form, "numero_documento")
    razon, clave = _texto(form, "razon"), _clave(_texto(form, "clave"))
    if not re.fullmatch(r"[A-Z0-9-]{4,40}", codigo):
        return _consulta(p, request, "", None, 422)
    if form.get("confirmo") != "si":
        visto = await _seguir(p, request, codigo, documento)
        if not visto.ok:
            return _no_encontrado(p, request, visto, codigo)
        falta = p.texto(request, _("Marque la casilla para confirmar que desiste."))
        return _reclamo(
            p,
            request,
            visto.datos,
            documento,
            errores={"confirmo": falta},
            valores={"razon": razon},
            estado=422,
        )
    r = await p.api.llamar(
        request,
        "POST",
        f"/reclamos/{codigo}/desistimiento",
        json={"numero_documento": documento, "razon": razon or None},
        headers={"Idempotency-Key": clave},
    )
    aviso = p.texto(request, _("Usted desistió de su reclamo. La entidad ya no lo atenderá."))
    return await _despues_de_tramitar(
        p, request, codigo, documento, r, aviso, {"razon": "razon"}, {"razon": razon}
    )


@router.post("/seguimiento/archivo")
async def descargar(request: Request, p: Renderer) -> Response:
    """A file of the reclamo: the API's download is a POST with the document in the body."""
    form = await request.form(max_files=0, max_fields=10)
    if rechazo := _sin_csrf(p, request, form):
        return rechazo
    codigo, documento = _texto(form, "codigo"), _texto(form, "numero_documento")
    adjunto = _texto(form, "adjunto")
    if not re.fullmatch(r"[A-Z0-9-]{4,40}", codigo) or not _ADJUNTO.match(adjunto):
        return p.error(request, 404)
    r = await p.api.llamar(
        request,
        "POST",
        f"/reclamos/{codigo}/adjuntos/{adjunto}",
        json={"numero_documento": documento},
    )
    if not r.ok:
        return _no_encontrado(p, request, r, codigo)
    cabeceras = {
        "Content-Disposition": r.cabeceras.get("content-disposition", "attachment"),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    tipo = r.cabeceras.get("x-tipo-contenido") or "application/octet-stream"
    return Response(r.contenido, media_type=tipo, headers=cabeceras)


# --- Survey --------------------------------------------------------------------------------------


def _encuesta(
    p: Paginas,
    request: Request,
    token: str,
    encuesta: dict[str, Any] | None,
    mensaje: str = "",
    errores: dict[str, str] | None = None,
    valores: dict[str, str] | None = None,
    gracias: bool = False,
    estado: int = 200,
) -> HTMLResponse:
    return p.render(
        request,
        "ciudadano/encuesta.html",
        estado=estado,
        token=token,
        e=encuesta,
        mensaje=mensaje,
        gracias=gracias,
        errores=errores or {},
        valores=valores or {},
        PREGUNTAS=PREGUNTAS,
        IMPULSORES=IMPULSORES,
        ESCALA=ESCALA,
        **_comun(request),
    )


def _encuesta_cerrada(p: Paginas, request: Request, token: str, r: Respuesta) -> HTMLResponse:
    """No form: the link is wrong, or the survey expired or was answered."""
    estado = r.datos.get("estado") if r.ok and isinstance(r.datos, dict) else None
    error = r.datos.get("error") if isinstance(r.datos, dict) else None
    if estado == "respondida" or error == "ya_respondida":
        mensaje = _("Esta encuesta ya fue respondida. Gracias por su opinión.")
    elif estado == "vencida" or error == "encuesta_vencida":
        mensaje = _("El plazo para responder esta encuesta ya venció.")
    elif r.estado == 429:
        return _encuesta(p, request, token, None, _mensaje_de_estado(p, request, r), estado=429)
    else:
        mensaje = _("El enlace de la encuesta no es válido. Revise que lo copió completo.")
    return _encuesta(
        p, request, token, None, p.texto(request, mensaje), estado=200 if r.ok else r.estado
    )


@router.get("/encuestas/{token}", response_class=HTMLResponse)
async def ver_encuesta(token: str, request: Request, p: Renderer) -> HTMLResponse:
    if not _TOKEN.match(token):
        return _encuesta_cerrada(p, request, token, Respuesta(404, None, None, b""))  # type: ignore[arg-type]
    r = await p.api.llamar(request, "GET", f"/encuestas/{token}")
    if not r.ok or r.datos.get("estado") != "pendiente":
        return _encuesta_cerrada(p, request, token, r)
    return _encuesta(p, request, token, r.datos)


@router.post("/encuestas/{token}", response_class=HTMLResponse)
async def responder_encuesta(token: str, request: Request, p: Renderer) -> HTMLResponse:
    form = await request.form(max_files=0, max_fields=20)
    if rechazo := _sin_csrf(p, request, form):
        return rechazo
    if not _TOKEN.match(token):
        return _encuesta_cerrada(p, request, token, Respuesta(404, None, None, b""))  # type: ignore[arg-type]
    valores = {c: _texto(form, c) for c in ("satisfaccion", "resuelto", "comentario")}
    valores |= {f"impulsor_{i}": _texto(form, f"impulsor_{i}") for i in IMPULSORES}
    cuerpo: dict[str, Any] = {
        "impulsores": {
            i: int(valores[f"impulsor_{i}"])
            for i in IMPULSORES
            if valores[f"impulsor_{i}"].isdigit()
        },
        "comentario": valores["comentario"] or None,
    }
    if valores["satisfaccion"].isdigit():
        cuerpo["satisfaccion"] = int(valores["satisfaccion"])
    if valores["resuelto"] in ("si", "no"):
        cuerpo["resuelto"] = valores["resuelto"] == "si"
    # A choice left out is said next to it here; the API still validates what is sent.
    falta = p.texto(request, _("Elija una opción."))
    errores = {c: falta for c in ("satisfaccion", "resuelto") if c not in cuerpo}
    errores |= {f"impulsor_{i}": falta for i in IMPULSORES if i not in cuerpo["impulsores"]}
    r = (
        await p.api.llamar(request, "POST", f"/encuestas/{token}", json=cuerpo)
        if not errores
        else Respuesta(422, {}, None, b"")  # type: ignore[arg-type]
    )
    if r.ok:
        return _encuesta(p, request, token, None, gracias=True)
    if r.estado != 422:
        return _encuesta_cerrada(p, request, token, r)
    visto = await p.api.llamar(request, "GET", f"/encuestas/{token}")
    if not visto.ok or visto.datos.get("estado") != "pendiente":
        return _encuesta_cerrada(p, request, token, visto)
    for campo, mensaje in r.errores_por_campo().items():
        raiz = campo.split(".")[0]
        destino = raiz if raiz in ("satisfaccion", "resuelto", "comentario") else "general"
        errores.setdefault(destino, p.texto(request, mensaje))
    return _encuesta(p, request, token, visto.datos, errores=errores, valores=valores, estado=422)
