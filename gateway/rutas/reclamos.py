"""Citizen routes: file a reclamo, follow it with código + document number."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request

from gateway.dependencias import ClaveIdempotencia, Internos, Quien
from gateway.limites import Ventana
from gateway.modelos import Error, Seguimiento
from servicios.registro.schemas import ConsultaSeguimiento, HojaReclamacion, ReclamoRegistrado

router = APIRouter(tags=["Reclamos (ciudadano)"])


@router.post(
    "/reclamos",
    status_code=201,
    response_model=ReclamoRegistrado,
    responses={422: {"model": Error}, 429: {"model": Error}},
    summary="Registrar un reclamo (hoja de reclamación)",
)
async def registrar(
    hoja: HojaReclamacion,
    request: Request,
    quien: Quien,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    if quien.rol == "ciudadano":  # entity staff typing in presencial reclamos are not limited
        limitar(request.app.state.limites.reclamos, _cliente(request))
    return await internos.llamar(
        request,
        "registro",
        "POST",
        "/reclamos",
        quien,
        hoja.model_dump(mode="json"),
        idempotencia=idempotencia,
    )


@router.post(
    "/seguimiento",
    response_model=Seguimiento,
    responses={404: {"model": Error}, 429: {"model": Error}},
    summary="Seguir un reclamo con su código y número de documento",
    description="El número de documento va en el cuerpo, no en la URL, para que no quede en "
    "registros de acceso.",
)
async def seguir(consulta: ConsultaSeguimiento, request: Request, quien: Quien, internos: Internos):
    # Failed lookups of one código are limited: a código someone saw must not let them guess
    # the document number (and so who filed it).
    fallos = request.app.state.limites.fallos_seguimiento
    clave = f"{_cliente(request)}|{consulta.codigo}"
    if espera := fallos.espera(clave):
        raise _demasiadas(espera)
    respuesta = await internos.llamar(
        request, "registro", "POST", "/seguimiento", quien, consulta.model_dump(mode="json")
    )
    if respuesta.status_code == 404:
        fallos.anotar(clave)
    return respuesta


def limitar(ventana: Ventana, clave: str) -> None:
    if espera := ventana.espera(clave):
        raise _demasiadas(espera)
    ventana.anotar(clave)


def _demasiadas(espera: float) -> HTTPException:
    return HTTPException(
        429,
        "Demasiadas solicitudes; intente más tarde.",
        headers={"Retry-After": str(max(1, math.ceil(espera)))},
    )


def _cliente(request: Request) -> str:
    return request.client.host if request.client else "desconocido"


@router.get("/entidades", summary="Entidades ante las que se puede reclamar")
async def entidades(request: Request, quien: Quien, internos: Internos):
    return await internos.llamar(request, "registro", "GET", "/entidades", quien)
