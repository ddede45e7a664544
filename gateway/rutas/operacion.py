"""Operator and supervisor routes: the entity catalogue, the calendar, deadlines, deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import AfterValidator

from gateway.credenciales import Credencial
from gateway.dependencias import Codigo, Internos, requiere
from gateway.modelos import COMUNES, CON_CUERPO, Entrega, errores
from servicios.derivacion.schemas import Entidad
from servicios.plazos.schemas import (
    FORMATO_FECHA,
    DiaDeclarado,
    DiaNoLaborable,
    DiaRetirado,
    Plazo,
    fecha_del_calendario,
)

router = APIRouter(tags=["operacion"], responses=errores(*COMUNES))
Operador = Annotated[Credencial, Depends(requiere("operador"))]
Personal = Annotated[Credencial, Depends(requiere("entidad", "supervisor"))]
Supervision = Annotated[Credencial, Depends(requiere("supervisor", "operador"))]
Id = Annotated[str, Path(pattern=r"^[a-z0-9-]{2,40}$")]
# A string checked as a real date: FastAPI's `date` took `/0` as 1970-01-01.
Fecha = Annotated[
    str,
    Path(pattern=FORMATO_FECHA, description="Fecha del calendario, AAAA-MM-DD"),
    AfterValidator(fecha_del_calendario),
]


@router.put(
    "/catalogo/entidades/{entidad_id}",
    response_model=Entidad,
    responses=errores(403, *CON_CUERPO),
    summary="Crear o actualizar una entidad con sus unidades y reglas",
    description="Solo operador. Las reglas derivan cada reclamo a su unidad por motivo o sede; "
    "`unidad_por_defecto` recibe lo que ninguna regla toma.",
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
    response_model=DiaDeclarado,
    responses=errores(403, *CON_CUERPO),
    summary="Declarar un día no laborable del sector público",
    description="Los plazos abiertos que toca se recalculan en segundo plano y cada ciudadano "
    "afectado recibe la nueva fecha.",
)
async def dia_no_laborable(
    fecha: Fecha, dia: DiaNoLaborable, request: Request, quien: Operador, internos: Internos
):
    return await internos.llamar(
        request,
        "plazos",
        "PUT",
        f"/calendario/dias-no-laborables/{fecha}",
        quien,
        dia.model_dump(),
    )


@router.delete(
    "/calendario/dias-no-laborables/{fecha}",
    response_model=DiaRetirado,
    responses=errores(403, 404, 422),
    summary="Retirar un día no laborable declarado",
    description="Solo operador. Los plazos abiertos que lo contaban se recalculan y se avisa "
    "a cada ciudadano afectado. 404 si ese día no estaba declarado.",
)
async def retirar_dia_no_laborable(
    fecha: Fecha, request: Request, quien: Operador, internos: Internos
):
    return await internos.llamar(
        request, "plazos", "DELETE", f"/calendario/dias-no-laborables/{fecha}", quien
    )


@router.get(
    "/calendario/dias-no-laborables",
    response_model=list[DiaDeclarado],
    responses=errores(403),
    summary="Días no laborables declarados, por fecha",
    description="Los que declaró un operador; los feriados nacionales se cuentan siempre.",
)
async def dias_no_laborables(request: Request, quien: Supervision, internos: Internos):
    return await internos.llamar(request, "plazos", "GET", "/calendario/dias-no-laborables", quien)


@router.get(
    "/plazos/{codigo}",
    response_model=Plazo,
    responses=errores(403, 404, 422),
    summary="Plazo de un reclamo: vencimiento, pausa, subsanación y si venció",
    description="En días hábiles desde la recepción. 404 si no existe o no es de la entidad "
    "(o de la unidad) de la clave.",
)
async def plazo(codigo: Codigo, request: Request, quien: Personal, internos: Internos):
    return await internos.llamar(request, "plazos", "GET", f"/plazos/{codigo}", quien)


@router.get(
    "/entregas/{codigo}",
    response_model=list[Entrega],
    responses=errores(403, 422),
    summary="Prueba de entrega de las notificaciones",
    description="Una lista vacía si el código no tiene notificaciones.",
)
async def entregas(codigo: Codigo, request: Request, quien: Supervision, internos: Internos):
    return await internos.llamar(request, "notificaciones", "GET", f"/entregas/{codigo}", quien)
