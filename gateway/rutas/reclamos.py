"""Citizen routes: file a reclamo, follow it with código + document number, and answer an
observación (subsanación) or withdraw it (desistimiento) the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from gateway.credenciales import Credencial
from gateway.dependencias import ClaveIdempotencia, Codigo, Internos, Quien, Servicios
from gateway.limites import Demasiadas, LimitesNoDisponibles
from gateway.modelos import (
    COMUNES,
    CON_CUERPO,
    EJEMPLOS_DESISTIMIENTO,
    EJEMPLOS_HOJA,
    EJEMPLOS_SEGUIMIENTO,
    EJEMPLOS_SUBSANACION,
    EntidadPublica,
    Seguimiento,
    Tramite,
    errores,
)
from servicios.registro.schemas import (
    ConsultaSeguimiento,
    Desistimiento,
    HojaReclamacion,
    ReclamoRegistrado,
    Subsanacion,
)

# Public routes: a citizen calls without a key (dependencias.Quien); a key sent must verify (401).
R = TypeVar("R", bound=Response)
router = APIRouter(tags=["reclamos"], responses=errores(*COMUNES))


@router.post(
    "/reclamos",
    status_code=201,
    response_model=ReclamoRegistrado,
    responses=errores(403, 429, *CON_CUERPO),
    summary="Registrar un reclamo (hoja de reclamación)",
    description="Sin clave, el ciudadano (canal virtual); el canal presencial es solo para el "
    "personal de la entidad reclamada (403 para otros). Los ciudadanos tienen un límite de "
    "reclamos por documento y por dirección (429, con Retry-After).",
)
async def registrar(
    hoja: Annotated[HojaReclamacion, Body(openapi_examples=EJEMPLOS_HOJA)],
    request: Request,
    quien: Quien,
    internos: Internos,
    idempotencia: ClaveIdempotencia = None,
):
    await contar_registro(request, quien, hoja)
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
    responses=errores(404, 429, *CON_CUERPO),
    summary="Seguir un reclamo con su código y número de documento",
    description="El número de documento va en el cuerpo, no en la URL, para que no quede en "
    "registros de acceso.",
)
async def seguir(
    consulta: Annotated[ConsultaSeguimiento, Body(openapi_examples=EJEMPLOS_SEGUIMIENTO)],
    request: Request,
    quien: Quien,
    internos: Internos,
):
    return await _con_documento(
        request, internos, quien, consulta.codigo, "/seguimiento", consulta, None
    )


@router.post(
    "/reclamos/{codigo}/subsanacion",
    response_model=Tramite,
    responses=errores(404, 409, 429, *CON_CUERPO),
    summary="Enviar la información que la entidad pidió (subsanación)",
    description="Con el código y el número de documento (en el cuerpo), dentro del plazo para "
    "subsanar que muestra el seguimiento. 409 si el reclamo no está observado o si el plazo "
    "venció (`plazo_vencido`).",
)
async def subsanar(
    codigo: Codigo,
    solicitud: Annotated[Subsanacion, Body(openapi_examples=EJEMPLOS_SUBSANACION)],
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
    responses=errores(404, 409, 429, *CON_CUERPO),
    summary="Desistir del reclamo",
    description="Con el código y el número de documento (en el cuerpo), en cualquier momento "
    "antes de la respuesta de la entidad. 409 si ya fue respondido, cerrado, archivado o "
    "desistido.",
)
async def desistir(
    codigo: Codigo,
    solicitud: Annotated[Desistimiento, Body(openapi_examples=EJEMPLOS_DESISTIMIENTO)],
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
    cuerpo: ConsultaSeguimiento | Subsanacion | Desistimiento,
    idempotencia: str | None,
) -> JSONResponse:
    return await con_documento_limitado(
        request,
        codigo,
        cuerpo.numero_documento,
        lambda: internos.llamar(
            request,
            "registro",
            "POST",
            ruta,
            quien,
            cuerpo.model_dump(mode="json"),
            idempotencia=idempotencia,
        ),
    )


async def contar_registro(request: Request, quien: Credencial, hoja: HojaReclamacion) -> None:
    """Counts a citizen's filing against the limits per document and per address (entity staff
    typing in presencial reclamos are not limited)."""
    if quien.rol == "ciudadano":
        limites = request.app.state.limites
        await limitado(limites.registrar(hoja.ciudadano.documento.numero, _cliente(request)))


async def con_documento_limitado(
    request: Request, codigo: str, documento: str, llamada: Callable[[], Awaitable[R]]
) -> R:
    """Runs `llamada`, a lookup of `codigo` with `documento`, under the failed-lookup limits: per
    código and per document, whatever the route and the address, so a código someone saw does
    not let them guess the document number (and so who filed it), nor one document be tried
    against many códigos. A 404 counts as a failure."""
    limites = request.app.state.limites
    await limitado(limites.antes_de_consultar(codigo, documento))
    respuesta = await llamada()
    if respuesta.status_code == 404:
        await limitado(limites.fallo(codigo, documento))
    return respuesta


async def limitado(cuenta: Awaitable[None]) -> None:
    """Awaits a count of the limits: 429 with Retry-After when one is spent, 503 when their
    store does not answer (nothing passes uncounted)."""
    try:
        await cuenta
    except Demasiadas as exc:
        raise HTTPException(
            429, exc.mensaje, headers={"Retry-After": str(exc.reintentar_en)}
        ) from None
    except LimitesNoDisponibles:
        raise HTTPException(
            503,
            "El servicio no está disponible en este momento; intente en unos minutos.",
            headers={"Retry-After": "30"},
        ) from None


def _cliente(request: Request) -> str:
    """The socket peer, or the client a trusted proxy forwarded (PROXIES_DE_CONFIANZA)."""
    par = request.client.host if request.client else None
    return request.app.state.limites.direccion(par, request.headers.getlist("x-forwarded-for"))


@router.get(
    "/entidades",
    response_model=list[EntidadPublica],
    responses=errores(422),
    summary="Entidades ante las que se puede reclamar",
    description="El `id` de cada una es el `entidad_id` de la hoja de reclamación.",
)
async def entidades(request: Request, quien: Quien, internos: Internos):
    return await internos.llamar(request, "registro", "GET", "/entidades", quien)
