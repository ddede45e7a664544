"""Citizen routes: file a reclamo, follow it with código + document number, and answer an
observación (subsanación) or withdraw it (desistimiento) the same way."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.credenciales import Credencial
from gateway.dependencias import ClaveIdempotencia, Codigo, Internos, Quien, Servicios
from gateway.limites import Ventana
from gateway.modelos import Error, Seguimiento, Tramite
from servicios.registro.schemas import (
    ConsultaSeguimiento,
    Desistimiento,
    HojaReclamacion,
    ReclamoRegistrado,
    Subsanacion,
)

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
    return await _con_documento(
        request, internos, quien, consulta.codigo, "/seguimiento", consulta, None
    )


@router.post(
    "/reclamos/{codigo}/subsanacion",
    response_model=Tramite,
    responses={404: {"model": Error}, 409: {"model": Error}, 429: {"model": Error}},
    summary="Enviar la información que la entidad pidió (subsanación)",
    description="Con el código y el número de documento (en el cuerpo), dentro del plazo para "
    "subsanar que muestra el seguimiento. 409 si el reclamo no está observado o si el plazo "
    "venció (`plazo_vencido`).",
)
async def subsanar(
    codigo: Codigo,
    solicitud: Subsanacion,
    request: Request,
    quien: Quien,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    ruta = f"/reclamos/{codigo}/subsanacion"
    return await _con_documento(request, internos, quien, codigo, ruta, solicitud, idempotencia)


@router.post(
    "/reclamos/{codigo}/desistimiento",
    response_model=Tramite,
    responses={404: {"model": Error}, 409: {"model": Error}, 429: {"model": Error}},
    summary="Desistir del reclamo",
    description="Con el código y el número de documento (en el cuerpo), en cualquier momento "
    "antes de la respuesta de la entidad. 409 si ya fue respondido, cerrado, archivado o "
    "desistido.",
)
async def desistir(
    codigo: Codigo,
    solicitud: Desistimiento,
    request: Request,
    quien: Quien,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    ruta = f"/reclamos/{codigo}/desistimiento"
    return await _con_documento(request, internos, quien, codigo, ruta, solicitud, idempotencia)


async def _con_documento(
    request: Request,
    internos: Servicios,
    quien: Credencial,
    codigo: str,
    ruta: str,
    cuerpo: BaseModel,
    idempotencia: str | None,
) -> JSONResponse:
    # Failed lookups of one código are limited, whatever the route: a código someone saw must
    # not let them guess the document number (and so who filed it).
    fallos = request.app.state.limites.fallos_seguimiento
    clave = f"{_cliente(request)}|{codigo}"
    if espera := fallos.espera(clave):
        raise _demasiadas(espera)
    respuesta = await internos.llamar(
        request,
        "registro",
        "POST",
        ruta,
        quien,
        cuerpo.model_dump(mode="json"),
        idempotencia=idempotencia,
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
