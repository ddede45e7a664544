"""Entity routes: the inbox, attention and the answer. A credential sees only its entity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from gateway.credenciales import Credencial
from gateway.dependencias import ClaveIdempotencia, Codigo, Internos, requiere
from gateway.modelos import Error
from servicios.derivacion.schemas import EntradaBandeja, Respuesta

router = APIRouter(prefix="/bandeja", tags=["Bandeja (entidad)"])
Personal = Annotated[Credencial, Depends(requiere("entidad", "supervisor"))]
SoloEntidad = Annotated[Credencial, Depends(requiere("entidad"))]
NO_EXISTE = {404: {"model": Error}, 403: {"model": Error}, 401: {"model": Error}}


@router.get("", response_model=list[EntradaBandeja], summary="Reclamos de la entidad")
async def listar(
    request: Request,
    quien: Personal,
    internos: Internos,
    estado: Annotated[str | None, Query(pattern=r"^[a-z_]{3,20}$")] = None,
    entidad: Annotated[str | None, Query(description="Solo supervisor")] = None,
    limite: Annotated[int, Query(ge=1, le=200)] = 50,
):
    params = {
        k: v
        for k, v in {"estado": estado, "entidad": entidad, "limite": limite}.items()
        if v is not None
    }
    return await internos.llamar(request, "derivacion", "GET", "/bandeja", quien, params=params)


@router.get("/{codigo}", response_model=EntradaBandeja, responses=NO_EXISTE)
async def ver(codigo: Codigo, request: Request, quien: Personal, internos: Internos):
    return await internos.llamar(request, "derivacion", "GET", f"/bandeja/{codigo}", quien)


@router.post(
    "/{codigo}/atencion",
    response_model=EntradaBandeja,
    responses=NO_EXISTE,
    summary="Marcar el reclamo en atención",
)
async def atender(
    codigo: Codigo,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await internos.llamar(
        request,
        "derivacion",
        "POST",
        f"/bandeja/{codigo}/atencion",
        quien,
        idempotencia=idempotencia,
    )


@router.post(
    "/{codigo}/respuesta",
    response_model=EntradaBandeja,
    responses=NO_EXISTE,
    summary="Responder el reclamo",
)
async def responder(
    codigo: Codigo,
    respuesta: Respuesta,
    request: Request,
    quien: SoloEntidad,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await internos.llamar(
        request,
        "derivacion",
        "POST",
        f"/bandeja/{codigo}/respuesta",
        quien,
        respuesta.model_dump(),
        idempotencia=idempotencia,
    )
