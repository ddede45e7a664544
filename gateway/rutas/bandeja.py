"""Entity routes: the inbox and what the entity does with a reclamo. A credential sees only its
entity (and its unit, for a unit-scoped key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from comun.eventos import PATRON_UNA_LINEA
from comun.vocabulario import Motivo
from gateway.credenciales import Credencial
from gateway.dependencias import ClaveIdempotencia, Codigo, Internos, requiere
from gateway.modelos import COMUNES, CON_CUERPO, errores
from servicios.derivacion.schemas import (
    MOTIVO_ACCESO,
    Cursor,
    EntradaBandeja,
    Estado,
    Observacion,
    PaginaBandeja,
    Reasignacion,
    Respuesta,
    Traslado,
    VenceAntes,
)

router = APIRouter(prefix="/bandeja", tags=["bandeja"], responses=errores(*COMUNES))
Personal = Annotated[Credencial, Depends(requiere("entidad", "supervisor"))]
SoloEntidad = Annotated[Credencial, Depends(requiere("entidad"))]
# 403: an operator's key; 404: no such reclamo in the credential's entity (or unit).
NO_EXISTE = errores(403, 404, 422)
ACCION = errores(403, 404, 409, *CON_CUERPO)
IDENTIFICADOR = r"^[a-z0-9-]{2,40}$"
# Checked again by derivacion, which records it (and says why a value is refused).
MotivoAcceso = Annotated[str | None, Query(pattern=PATRON_UNA_LINEA, **MOTIVO_ACCESO)]


@router.get(
    "",
    response_model=PaginaBandeja,
    responses=errores(403, 422),
    summary="Reclamos de la entidad, el más urgente primero",
    description="Ordenados por vencimiento del plazo (los que no tienen un plazo corriendo, al "
    "final). Pida la página siguiente con `cursor` = `siguiente` hasta que sea null: así se "
    "recorren todos, cada uno una vez.",
)
async def listar_bandeja(
    request: Request,
    quien: Personal,
    internos: Internos,
    estado: Annotated[Estado | None, Query()] = None,
    unidad: Annotated[str | None, Query(pattern=IDENTIFICADOR)] = None,
    motivo: Annotated[Motivo | None, Query()] = None,
    vence_antes: Annotated[VenceAntes | None, Query()] = None,
    vencido: Annotated[bool | None, Query(description="Solo vencidos (true) o no (false)")] = None,
    entidad: Annotated[
        str | None, Query(pattern=IDENTIFICADOR, description="Solo supervisor")
    ] = None,
    limite: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[Cursor | None, Query()] = None,
    motivo_acceso: MotivoAcceso = None,
):
    params = {
        "estado": estado,
        "unidad": unidad,
        "motivo": motivo,
        "vence_antes": vence_antes,
        "vencido": None if vencido is None else str(vencido).lower(),
        "entidad": entidad,
        "limite": limite,
        "cursor": cursor,
        "motivo_acceso": motivo_acceso,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return await internos.llamar(request, "derivacion", "GET", "/bandeja", quien, params=params)


@router.get(
    "/{codigo}",
    response_model=EntradaBandeja,
    responses=NO_EXISTE,
    summary="Ver un reclamo de la bandeja, con su historial",
    description="404 si no existe o no es de la entidad (o de la unidad) de la clave. El "
    "supervisor ve la identidad del ciudadano enmascarada salvo que indique `motivo_acceso`, "
    "que queda registrado.",
)
async def ver_reclamo(
    codigo: Codigo,
    request: Request,
    quien: Personal,
    internos: Internos,
    motivo_acceso: MotivoAcceso = None,
):
    params = {"motivo_acceso": motivo_acceso} if motivo_acceso is not None else None
    return await internos.llamar(
        request, "derivacion", "GET", f"/bandeja/{codigo}", quien, params=params
    )


async def _accion(
    request: Request,
    internos: Internos,
    quien: Credencial,
    codigo: str,
    accion: str,
    cuerpo: BaseModel | None,
    idempotencia: str | None,
):
    return await internos.llamar(
        request,
        "derivacion",
        "POST",
        f"/bandeja/{codigo}/{accion}",
        quien,
        cuerpo.model_dump() if cuerpo is not None else None,
        idempotencia=idempotencia,
    )


@router.post(
    "/{codigo}/atencion",
    response_model=EntradaBandeja,
    responses=ACCION,
    summary="Marcar el reclamo en atención",
    description="El ciudadano ve en su seguimiento que la entidad lo está atendiendo. 409 "
    "`transicion_invalida` si el estado actual no lo permite.",
)
async def atender(
    codigo: Codigo,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await _accion(request, internos, quien, codigo, "atencion", None, idempotencia)


@router.post(
    "/{codigo}/respuesta",
    response_model=EntradaBandeja,
    responses=ACCION,
    summary="Responder el reclamo",
    description="La respuesta llega al ciudadano por correo y en su seguimiento, con la "
    "encuesta de satisfacción. 409 `transicion_invalida` si ya fue respondido o terminó.",
)
async def responder_reclamo(
    codigo: Codigo,
    respuesta: Respuesta,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await _accion(request, internos, quien, codigo, "respuesta", respuesta, idempotencia)


@router.post(
    "/{codigo}/reasignacion",
    response_model=EntradaBandeja,
    responses=ACCION,
    summary="Reasignar el reclamo a otra unidad de la entidad",
    description="La unidad anterior deja de verlo; los responsables de la nueva son avisados.",
)
async def reasignar(
    codigo: Codigo,
    reasignacion: Reasignacion,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await _accion(
        request, internos, quien, codigo, "reasignacion", reasignacion, idempotencia
    )


@router.post(
    "/{codigo}/observacion",
    response_model=EntradaBandeja,
    responses=ACCION,
    summary="Pedir al ciudadano que subsane datos faltantes",
    description="El ciudadano es avisado y tiene un plazo en días hábiles para subsanar; si no "
    "lo hace, el reclamo se archiva.",
)
async def observar(
    codigo: Codigo,
    observacion: Observacion,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await _accion(request, internos, quien, codigo, "observacion", observacion, idempotencia)


@router.post(
    "/{codigo}/traslado",
    response_model=EntradaBandeja,
    responses=ACCION,
    summary="Trasladar el reclamo a la entidad competente",
    description="Pasa a la unidad por defecto de la nueva entidad, con su historia; esta "
    "entidad deja de verlo y el ciudadano es avisado.",
)
async def trasladar(
    codigo: Codigo,
    traslado: Traslado,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await _accion(request, internos, quien, codigo, "traslado", traslado, idempotencia)
