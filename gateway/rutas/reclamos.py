"""Citizen routes: file a reclamo, follow it with código + document number."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.dependencias import Internos, Quien
from gateway.modelos import Error, Seguimiento
from servicios.registro.schemas import ConsultaSeguimiento, HojaReclamacion, ReclamoRegistrado

router = APIRouter(tags=["Reclamos (ciudadano)"])


@router.post(
    "/reclamos",
    status_code=201,
    response_model=ReclamoRegistrado,
    responses={422: {"model": Error}},
    summary="Registrar un reclamo (hoja de reclamación)",
)
async def registrar(hoja: HojaReclamacion, request: Request, quien: Quien, internos: Internos):
    return await internos.llamar(
        request, "registro", "POST", "/reclamos", quien, hoja.model_dump(mode="json")
    )


@router.post(
    "/seguimiento",
    response_model=Seguimiento,
    responses={404: {"model": Error}},
    summary="Seguir un reclamo con su código y número de documento",
    description="El número de documento va en el cuerpo, no en la URL, para que no quede en "
    "registros de acceso.",
)
async def seguir(consulta: ConsultaSeguimiento, request: Request, quien: Quien, internos: Internos):
    return await internos.llamar(
        request, "registro", "POST", "/seguimiento", quien, consulta.model_dump(mode="json")
    )


@router.get("/entidades", summary="Entidades ante las que se puede reclamar")
async def entidades(request: Request, quien: Quien, internos: Internos):
    return await internos.llamar(request, "registro", "GET", "/entidades", quien)
