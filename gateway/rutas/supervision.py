"""Supervisor routes (Secretaría de Gestión Pública): overdue reclamos across entities, and
interventions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from comun.vocabulario import NivelGobierno
from gateway.credenciales import Credencial
from gateway.dependencias import ClaveIdempotencia, Codigo, Internos, requiere
from gateway.modelos import COMUNES, CON_CUERPO, errores
from servicios.plazos.schemas import (
    Cursor,
    IntervencionesEntidad,
    IntervencionRegistrada,
    NotaIntervencion,
    PaginaVencidos,
)

router = APIRouter(prefix="/supervision", tags=["supervision"], responses=errores(*COMUNES))
Supervisor = Annotated[Credencial, Depends(requiere("supervisor"))]


@router.get(
    "/vencidos",
    response_model=PaginaVencidos,
    responses=errores(403, 422),
    summary="Reclamos vencidos de todas las entidades, los más atrasados primero",
    description="Filtros por entidad, nivel de gobierno, país (consulados) y días de atraso; "
    "pida la página siguiente con `cursor` = `siguiente` hasta que sea null.",
)
async def vencidos(
    request: Request,
    quien: Supervisor,
    internos: Internos,
    entidad: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{2,40}$")] = None,
    nivel: Annotated[NivelGobierno | None, Query(description="Nivel de gobierno")] = None,
    pais: Annotated[
        str | None, Query(pattern=r"^[A-Z]{2}$", description="País (consulados)")
    ] = None,
    dias_min: Annotated[
        int, Query(ge=0, le=1000, description="Días hábiles de atraso, como mínimo")
    ] = 0,
    limite: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[Cursor | None, Query()] = None,
):
    params = {
        "entidad": entidad,
        "nivel": nivel,
        "pais": pais,
        "dias_min": dias_min,
        "limite": limite,
        "cursor": cursor,
    }
    return await internos.llamar(
        request,
        "plazos",
        "GET",
        "/supervision/vencidos",
        quien,
        params={k: v for k, v in params.items() if v is not None},
    )


@router.post(
    "/reclamos/{codigo}/intervencion",
    response_model=IntervencionRegistrada,
    status_code=201,
    responses=errores(403, 404, 409, *CON_CUERPO),
    summary="Registrar una intervención de la SGP en un reclamo",
    description="Se avisa a los responsables de la entidad, se muestra en el historial del "
    "ciudadano y se cuenta por entidad.",
)
async def intervenir(
    codigo: Codigo,
    nota: NotaIntervencion,
    request: Request,
    quien: Supervisor,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    return await internos.llamar(
        request,
        "plazos",
        "POST",
        f"/supervision/reclamos/{codigo}/intervencion",
        quien,
        nota.model_dump(),
        idempotencia=idempotencia,
    )


@router.get(
    "/intervenciones",
    response_model=list[IntervencionesEntidad],
    responses=errores(403),
    summary="Intervenciones registradas por entidad",
    description="Cuántas veces intervino la SGP en los reclamos de cada entidad.",
)
async def intervenciones(request: Request, quien: Supervisor, internos: Internos):
    return await internos.llamar(request, "plazos", "GET", "/supervision/intervenciones", quien)
