"""Survey routes: the citizen reads and answers with the single-use token (from the email, or
the link in tracking) until the survey expires."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.credenciales import Credencial
from gateway.dependencias import Internos, Quien, requiere
from gateway.modelos import (
    COMUNES,
    CON_CUERPO,
    EncuestaRespondida,
    IndiceSatisfaccion,
    errores,
)
from servicios.encuestas.schemas import Encuesta, RespuestaEncuesta

router = APIRouter(tags=["encuestas"], responses=errores(*COMUNES))
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{20,64}$")]


@router.get(
    "/encuestas/{token}",
    response_model=Encuesta,
    responses=errores(404, 422),
    summary="Ver la encuesta",
    description="`estado`: pendiente, respondida o vencida; `vence_en`: hasta cuándo puede "
    "responderse.",
)
async def ver_encuesta(token: Token, request: Request, quien: Quien, internos: Internos):
    return await internos.llamar(request, "encuestas", "GET", f"/encuestas/{token}", quien)


@router.post(
    "/encuestas/{token}",
    response_model=EncuestaRespondida,
    responses=errores(404, 409, *CON_CUERPO),
    summary="Responder la encuesta (un solo uso)",
    description="409 `ya_respondida` si ya se respondió; 409 `encuesta_vencida` si venció.",
)
async def responder_encuesta(
    token: Token,
    respuesta: RespuestaEncuesta,
    request: Request,
    quien: Quien,
    internos: Internos,
):
    return await internos.llamar(
        request,
        "encuestas",
        "POST",
        f"/encuestas/{token}",
        quien,
        respuesta.model_dump(mode="json"),
    )


@router.get(
    "/indices/satisfaccion",
    response_model=list[IndiceSatisfaccion],
    responses=errores(403, 422),
    summary="Índices de satisfacción por entidad",
    description="Una entidad ve solo los suyos; el supervisor, los de todas o los de `entidad`.",
)
async def indices_satisfaccion(
    request: Request,
    quien: Annotated[Credencial, Depends(requiere("entidad", "supervisor"))],
    internos: Internos,
    entidad: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{2,40}$")] = None,
):
    params = {"entidad": entidad} if entidad else None
    return await internos.llamar(request, "encuestas", "GET", "/indices", quien, params=params)
