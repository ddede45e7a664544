"""A reclamo's files (issue 8): uploaded with the hoja or right after filing (multipart), by the
entity with its answer (issue 11), and downloaded by the citizen (código + document in the body)
or by the entity (and unit) that has the reclamo now. registro checks the files by their content
and keeps them (GridFS).

The multipart body is read here whole (the edge allows these paths MAX_CUERPO_ADJUNTOS_BYTES)
and parsed by hand, not by FastAPI: a body cut short before its closing boundary must be refused,
and python-multipart accepts it silently."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from comun.errores import errores_legibles
from gateway.borde import respuesta_error
from gateway.credenciales import Credencial
from gateway.dependencias import ClaveIdempotencia, Codigo, Internos, Quien, requiere
from gateway.modelos import COMUNES, CON_CUERPO, HOJA_DE_EJEMPLO, errores
from gateway.rutas.reclamos import con_documento_limitado, contar_registro
from servicios.registro.schemas import (
    MAX_ADJUNTOS,
    AdjuntosAgregados,
    DescargaCiudadano,
    HojaReclamacion,
    ReclamoConAdjuntos,
)

router = APIRouter(tags=["adjuntos"], responses=errores(*COMUNES))
SoloEntidad = Annotated[Credencial, Depends(requiere("entidad"))]
AdjuntoId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{24}$", description="Identificador del archivo (`adjuntos[].id`)")
]
# The headers of a download that reach the client.
CABECERAS_ARCHIVO = (
    "content-length",
    "content-disposition",
    "x-contenido-sha256",
    "x-tipo-contenido",
)
# A few more than allowed, so that registro can say "too many" in words instead of the parser.
MAX_PARTES = MAX_ADJUNTOS + 10
MAX_CAMPO = 256 * 1024  # a text field (the hoja's JSON is far smaller)

_ARCHIVOS = {
    "type": "array",
    "items": {"type": "string", "format": "binary"},
    "minItems": 1,
    "maxItems": MAX_ADJUNTOS,
    "description": "Hasta 10 archivos y 20 MB en total: PDF, JPEG, PNG, Word (doc, docx), "
    "Excel (xls, xlsx), PowerPoint (pptx) u OpenDocument (odt, ods). El tipo se reconoce por "
    "el contenido, no por el nombre.",
}


def _cuerpo_multipart(propiedades: dict[str, Any], requeridos: list[str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": propiedades,
                        "required": requeridos,
                    },
                    "encoding": {"archivos": {"contentType": "application/octet-stream"}},
                }
            },
        }
    }


_DESCARGA = {
    200: {
        "description": "El archivo. `X-Contenido-SHA256` trae su huella (la misma del "
        "seguimiento) y `X-Tipo-Contenido` el tipo reconocido al subirlo.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "X-Contenido-SHA256": {
                "description": "SHA-256 del archivo, en hexadecimal",
                "schema": {"type": "string"},
            },
            "X-Tipo-Contenido": {
                "description": "Tipo del archivo reconocido por su contenido",
                "schema": {"type": "string"},
            },
        },
    }
}


class _Invalido(Exception):
    def __init__(self, estado: int, error: str, mensaje: str, campo: str) -> None:
        self.estado, self.error, self.mensaje, self.campo = estado, error, mensaje, campo


async def _formulario(request: Request) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    """The form's text fields and its `archivos` (field, name, bytes), from a multipart body
    that ends with its closing boundary."""
    tipo, params = parse_options_header(request.headers.get("content-type", ""))
    frontera = params.get(b"boundary")
    if tipo != b"multipart/form-data" or not frontera:
        raise _Invalido(
            400, "multipart_invalido", "Envíe un formulario multipart/form-data.", "cuerpo"
        )
    crudo = await request.body()
    if b"--" + frontera + b"--" not in crudo:
        raise _Invalido(
            400,
            "multipart_incompleto",
            "El formulario llegó incompleto (falta su cierre): vuelva a enviarlo.",
            "cuerpo",
        )

    async def flujo():
        yield crudo

    parser = MultiPartParser(
        request.headers, flujo(), max_files=MAX_PARTES, max_fields=10, max_part_size=MAX_CAMPO
    )
    try:
        formulario = await parser.parse()
    except MultiPartException:
        raise _Invalido(
            400,
            "multipart_invalido",
            f"El formulario no se pudo leer: envíe como mucho {MAX_ADJUNTOS} archivos y campos "
            "de texto breves.",
            "cuerpo",
        ) from None
    campos: dict[str, str] = {}
    archivos: list[tuple[str, str, bytes]] = []
    try:
        for nombre, valor in formulario.multi_items():
            if isinstance(valor, UploadFile):
                if nombre != "archivos":
                    raise _Invalido(
                        422, "datos_invalidos", "Los archivos van en el campo archivos.", nombre
                    )
                archivos.append((nombre, valor.filename or "", await valor.read()))
            else:
                campos[nombre] = valor
    finally:
        await formulario.close()
    return campos, archivos


def _rechazo(exc: _Invalido) -> Response:
    detalle = [{"campo": exc.campo, "mensaje": exc.mensaje}]
    mensaje = "Hay datos inválidos." if exc.error == "datos_invalidos" else exc.mensaje
    return respuesta_error(exc.estado, exc.error, mensaje, detalle)


def _sin_archivos(archivos: list) -> None:
    if not archivos:
        raise _Invalido(422, "datos_invalidos", "Adjunte al menos un archivo.", "archivos")


@router.post(
    "/reclamos/con-adjuntos",
    status_code=201,
    response_model=ReclamoConAdjuntos,
    responses=errores(403, 429, *CON_CUERPO),
    summary="Registrar un reclamo con sus archivos",
    description="Formulario multipart: `hoja` es la hoja de reclamación en JSON (la misma de "
    "`POST /reclamos`, sin `adjuntos`) y `archivos` los archivos. Cada archivo guardado lleva "
    "su SHA-256 en la respuesta y en el seguimiento. Un archivo de tipo no permitido, vacío, "
    "demasiados (422), más de 20 MB en total (413) o un formulario incompleto (400) rechazan "
    "todo: no se guarda nada. Mismos límites por documento y dirección que `POST /reclamos`.",
    openapi_extra=_cuerpo_multipart(
        {
            "hoja": {
                "type": "string",
                "description": "La hoja de reclamación, en JSON (ver `HojaReclamacion`).",
                "example": json.dumps(HOJA_DE_EJEMPLO, ensure_ascii=False),
            },
            "archivos": _ARCHIVOS,
        },
        ["hoja", "archivos"],
    ),
)
async def registrar_con_adjuntos(
    request: Request, quien: Quien, internos: Internos, idempotencia: ClaveIdempotencia = None
):
    try:
        campos, archivos = await _formulario(request)
        texto = campos.get("hoja")
        if texto is None:
            raise _Invalido(422, "datos_invalidos", "Falta la hoja de reclamación (JSON).", "hoja")
        try:
            hoja = HojaReclamacion.model_validate_json(texto)
        except ValidationError as exc:
            detalle = [
                {**e, "campo": ".".join(p for p in ("hoja", e["campo"]) if p)}
                for e in errores_legibles(exc)
            ]
            return respuesta_error(422, "datos_invalidos", "Hay datos inválidos.", detalle)
        _sin_archivos(archivos)
    except _Invalido as exc:
        return _rechazo(exc)
    await contar_registro(request, quien, hoja)
    return await internos.enviar_archivos(
        request,
        "registro",
        "/reclamos/con-adjuntos",
        quien,
        {"hoja": texto},
        archivos,
        idempotencia=idempotencia,
    )


@router.post(
    "/reclamos/{codigo}/adjuntos",
    status_code=201,
    response_model=AdjuntosAgregados,
    responses=errores(404, 409, 429, *CON_CUERPO),
    summary="Adjuntar archivos a un reclamo registrado",
    description="Formulario multipart con `numero_documento` (el del reclamo) y `archivos`, "
    "mientras la entidad no haya respondido (409 después). El reclamo admite hasta 10 archivos "
    "y 20 MB en total, contando los que ya tiene. Cada archivo lleva su SHA-256 en el "
    "seguimiento. Un rechazo no guarda nada.",
    openapi_extra=_cuerpo_multipart(
        {
            "numero_documento": {
                "type": "string",
                "description": "Número del documento con el que se registró el reclamo.",
                "example": "40718263",
            },
            "archivos": _ARCHIVOS,
        },
        ["numero_documento", "archivos"],
    ),
)
async def adjuntar(
    codigo: Codigo,
    request: Request,
    quien: Quien,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    try:
        campos, archivos = await _formulario(request)
        try:
            documento = DescargaCiudadano.model_validate(
                {"numero_documento": campos.get("numero_documento")}
            ).numero_documento
        except ValidationError as exc:
            return respuesta_error(
                422, "datos_invalidos", "Hay datos inválidos.", errores_legibles(exc)
            )
        _sin_archivos(archivos)
    except _Invalido as exc:
        return _rechazo(exc)
    return await con_documento_limitado(
        request,
        codigo,
        documento,
        lambda: internos.enviar_archivos(
            request,
            "registro",
            f"/reclamos/{codigo}/adjuntos",
            quien,
            {"numero_documento": documento},
            archivos,
            idempotencia=idempotencia,
        ),
    )


@router.post(
    "/reclamos/{codigo}/adjuntos/{adjunto_id}",
    response_class=Response,
    responses={**_DESCARGA, **errores(404, 429, *CON_CUERPO)},
    summary="Descargar un archivo de mi reclamo (ciudadano)",
    description="Con el número de documento en el cuerpo, nunca en la URL. El `adjunto_id` "
    "está en `adjuntos` del seguimiento. 404 si el código, el documento o el archivo no "
    "corresponden.",
)
async def descargar_adjunto(
    codigo: Codigo,
    adjunto_id: AdjuntoId,
    solicitud: Annotated[DescargaCiudadano, Body()],
    request: Request,
    quien: Quien,
    internos: Internos,
):
    return await con_documento_limitado(
        request,
        codigo,
        solicitud.numero_documento,
        lambda: internos.descargar(
            request,
            "registro",
            "POST",
            f"/reclamos/{codigo}/adjuntos/{adjunto_id}",
            quien,
            json=solicitud.model_dump(mode="json"),
            cabeceras_pasan=CABECERAS_ARCHIVO,
        ),
    )


@router.post(
    "/bandeja/{codigo}/adjuntos",
    status_code=201,
    response_model=AdjuntosAgregados,
    responses=errores(403, 404, 409, *CON_CUERPO),
    summary="Adjuntar archivos a la respuesta de la entidad",
    description="Formulario multipart con `archivos`: los documentos de la respuesta de la "
    "entidad (un informe, una resolución). Solo la entidad que tiene el reclamo ahora (y, con "
    "una clave de unidad, la unidad a la que está derivado); 404 para cualquier otra. Se admite "
    "durante la atención y también ya respondido; 409 cuando el reclamo terminó (cerrado, "
    "archivado o desistido). Los archivos cuentan en el límite del reclamo (10 archivos y "
    "20 MB en total, con los del ciudadano), llevan `origen: entidad` y el ciudadano los ve y "
    "descarga en su seguimiento. Un rechazo no guarda nada.",
    openapi_extra=_cuerpo_multipart({"archivos": _ARCHIVOS}, ["archivos"]),
)
async def adjuntar_entidad(
    codigo: Codigo,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    try:
        _, archivos = await _formulario(request)
        _sin_archivos(archivos)
    except _Invalido as exc:
        return _rechazo(exc)
    return await internos.enviar_archivos(
        request,
        "registro",
        f"/entidad/reclamos/{codigo}/adjuntos",
        quien,
        {},
        archivos,
        idempotencia=idempotencia,
    )


@router.get(
    "/bandeja/{codigo}/adjuntos/{adjunto_id}",
    response_class=Response,
    responses={**_DESCARGA, **errores(403, 404, 422)},
    summary="Descargar un archivo de un reclamo de la entidad",
    description="Solo la entidad que tiene el reclamo ahora (y, con una clave de unidad, la "
    "unidad a la que está derivado); tras un traslado, la nueva entidad y ya no la anterior. "
    "404 para cualquier otra.",
)
async def descargar_adjunto_entidad(
    codigo: Codigo,
    adjunto_id: AdjuntoId,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
):
    return await internos.descargar(
        request,
        "registro",
        "GET",
        f"/entidad/reclamos/{codigo}/adjuntos/{adjunto_id}",
        quien,
        cabeceras_pasan=CABECERAS_ARCHIVO,
    )
