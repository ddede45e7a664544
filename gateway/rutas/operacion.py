"""Operator and supervisor routes: the entity catalogue, the calendar, deadlines, deliveries."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from gateway.credenciales import Credencial
from gateway.dependencias import Codigo, Internos, requiere
from servicios.derivacion.schemas import Entidad
from servicios.plazos.schemas import DiaNoLaborable, Plazo

router = APIRouter(tags=["Operación y supervisión"])
Operador = Annotated[Credencial, Depends(requiere("operador"))]
Personal = Annotated[Credencial, Depends(requiere("entidad", "supervisor"))]
Supervision = Annotated[Credencial, Depends(requiere("supervisor", "operador"))]
Id = Annotated[str, Path(pattern=r"^[a-z0-9-]{2,40}$")]


@router.put(
    "/catalogo/entidades/{entidad_id}",
    response_model=Entidad,
    summary="Crear o actualizar una entidad con sus unidades y reglas",
)
async def guardar_entidad(
    entidad_id: Id, entidad: Entidad, request: Request, quien: Operador, internos: Internos
):
    return await internos.llamar(
        request,
        "derivacion",
        "PUT",
        f"/catalogo/entidades/{entidad_id}",
        quien,
        entidad.model_dump(mode="json"),
    )


@router.put(
    "/calendario/dias-no-laborables/{fecha}",
    summary="Declarar un día no laborable del sector público",
)
async def dia_no_laborable(
    fecha: date, dia: DiaNoLaborable, request: Request, quien: Operador, internos: Internos
):
    return await internos.llamar(
        request,
        "plazos",
        "PUT",
        f"/calendario/dias-no-laborables/{fecha.isoformat()}",
        quien,
        dia.model_dump(),
    )


@router.get("/plazos/{codigo}", response_model=Plazo)
async def plazo(codigo: Codigo, request: Request, quien: Personal, internos: Internos):
    return await internos.llamar(request, "plazos", "GET", f"/plazos/{codigo}", quien)


@router.get("/entregas/{codigo}", summary="Prueba de entrega de las notificaciones")
async def entregas(codigo: Codigo, request: Request, quien: Supervision, internos: Internos):
    return await internos.llamar(request, "notificaciones", "GET", f"/entregas/{codigo}", quien)
