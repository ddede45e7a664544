"""Open data (issue 8): per entity and month, no key, no personal data, cacheable.

The same figures as the reports (gateway/rutas/reportes.py), asked with the citizen's identity
(entity totals only, never a unit), reduced to what may be published: received, % answered on
time, average business days, satisfaction. A count from 1 to 4 is shown as the range "< 5" and the
figures derived from it are hidden (null), so that nobody is re-identified.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gateway.dependencias import CIUDADANO, Internos, Quien
from gateway.modelos import COMUNES, errores
from gateway.rutas.reportes import (
    CSV_DOCUMENTADO,
    Accept,
    FormatoQ,
    Mes,
    MesHasta,
    RangoInvalido,
    a_csv,
    a_json,
    juntar,
    meses_atras,
    meses_entre,
    quiere_csv,
    rango,
    respuesta_en_cache,
    reunir,
)

router = APIRouter(prefix="/publico", tags=["publico"], responses=errores(*COMUNES))

UMBRAL = 5  # counts from 1 to UMBRAL - 1 are published as "< 5"
RANGO = f"< {UMBRAL}"
# Any cache may keep it 5 minutes; after that, a conditional request (ETag) costs a 304.
CACHE = {"Cache-Control": "public, max-age=300", "Vary": "Accept"}
NOTA = (
    "Recibidos: reclamos registrados en el mes y que la entidad tiene hoy (tras un traslado "
    "cuentan en la entidad competente). Respondidos, % a tiempo y días hábiles: reclamos "
    "respondidos en el mes. Satisfacción: encuestas respondidas en el mes (1 a 5). Meses en hora "
    f"de Lima. Un conteo de 1 a {UMBRAL - 1} se publica como '{RANGO}' y sus porcentajes y "
    "promedios se omiten."
)

Conteo = Annotated[
    int | str, Field(description=f"Un número, o '{RANGO}' si es de 1 a {UMBRAL - 1}")
]


class Indicador(BaseModel):
    entidad_id: str
    entidad: str = Field(description="Nombre de la entidad")
    mes: str = Field(description="Mes AAAA-MM (hora de Lima)")
    recibidos: Conteo
    respondidos: Conteo
    porcentaje_a_tiempo: float | None = Field(description="% respondido dentro del plazo legal")
    dias_habiles_promedio: float | None = Field(description="Días hábiles para responder")
    encuestas: Conteo
    satisfaccion: float | None = Field(description="Satisfacción general media, de 1 a 5")


class Indicadores(BaseModel):
    desde: str
    hasta: str
    nota: str = Field(description="Cómo se cuentan las cifras")
    indicadores: list[Indicador]


COLUMNAS = list(Indicador.model_fields)
PUBLICADOS = ("recibidos", "respondidos", "encuestas")
# The only counters open data needs from the services (not the histogram, motivos, drivers...).
CAMPOS = [*PUBLICADOS, "a_tiempo", "dias_suma", "satisfaccion_suma"]


def conteo(n: int) -> int | str:
    return RANGO if 0 < n < UMBRAL else n


def indicador(entidad_id: str, nombre: str, mes: str, v: dict[str, float]) -> dict[str, Any]:
    recibidos, respondidos, encuestas = (
        int(v.get(k, 0)) for k in ("recibidos", "respondidos", "encuestas")
    )
    publicable_r = respondidos >= UMBRAL
    publicable_e = encuestas >= UMBRAL
    return {
        "entidad_id": entidad_id,
        "entidad": nombre,
        "mes": mes,
        "recibidos": conteo(recibidos),
        "respondidos": conteo(respondidos),
        "porcentaje_a_tiempo": (
            round(100 * v.get("a_tiempo", 0) / respondidos, 1) if publicable_r else None
        ),
        "dias_habiles_promedio": (
            round(v.get("dias_suma", 0) / respondidos, 2) if publicable_r else None
        ),
        "encuestas": conteo(encuestas),
        "satisfaccion": (
            round(v.get("satisfaccion_suma", 0) / encuestas, 2) if publicable_e else None
        ),
    }


def _meses(desde: str, hasta: str) -> list[str]:
    n = meses_entre(desde, hasta)
    return [meses_atras(hasta, n - 1 - i) for i in range(n)]


async def _indicadores(
    request: Request,
    internos: Internos,
    desde: str | None,
    hasta: str | None,
    entidad_id: str | None,
    formato,
    accept: str | None,
) -> Response:
    try:
        desde, hasta = rango(desde, hasta)
    except RangoInvalido as exc:
        return exc.respuesta()
    # Always as a citizen: a key sent here must not narrow (or widen) what is published.
    reunido = await reunir(
        request,
        internos,
        CIUDADANO,
        desde,
        hasta,
        [entidad_id] if entidad_id else None,
        None,
        "entidad_mes",
        CAMPOS,
    )
    if entidad_id is not None and entidad_id not in reunido.catalogo:
        raise HTTPException(404, "No hay una entidad con ese identificador.")
    en_csv = quiere_csv(formato, accept)

    def cuerpo() -> bytes:
        sumas = juntar(*(g.get("entidad_mes", {}) for g in reunido.grupos))
        if entidad_id is not None:  # every month of the range, so the series has no holes
            claves = [f"{entidad_id}|{m}" for m in _meses(desde, hasta)]
        else:  # the (entity, month) pairs with something to publish
            claves = sorted(k for k, v in sumas.items() if any(v.get(c) for c in PUBLICADOS))
        filas = []
        for clave in claves:
            ent, mes = clave.split("|", 1)
            nombre = reunido.catalogo.get(ent, {}).get("nombre", ent)
            filas.append(indicador(ent, nombre, mes, sumas.get(clave, {})))
        if en_csv:
            return a_csv(filas, COLUMNAS)
        # `indicador` builds each row as `Indicador` declares it: thousands of rows are not
        # validated again on the way out (the fuzzer checks the answers against the schema).
        return a_json({"desde": desde, "hasta": hasta, "nota": NOTA, "indicadores": filas})

    pregunta = ("publico", desde, hasta, entidad_id)
    media = "text/csv; charset=utf-8" if en_csv else "application/json"
    return respuesta_en_cache(request, pregunta, reunido, cuerpo, media, CACHE)


@router.get(
    "/indicadores",
    response_model=Indicadores,
    responses={200: CSV_DOCUMENTADO, **errores(422)},
    summary="Datos abiertos: indicadores de todas las entidades por mes",
    description="Sin clave. Por entidad y mes: reclamos recibidos, respondidos, % a tiempo, días "
    "hábiles promedio y satisfacción; sin datos personales. Los conteos de 1 a 4 se publican "
    "como `< 5`. Por defecto los últimos 12 meses. JSON, o CSV con `formato=csv` o "
    "`Accept: text/csv`. Se puede guardar en caché 5 minutos.",
)
async def indicadores_publicos(
    request: Request,
    quien: Quien,
    internos: Internos,
    desde: Mes = None,
    hasta: MesHasta = None,
    formato: FormatoQ = None,
    accept: Accept = None,
):
    return await _indicadores(request, internos, desde, hasta, None, formato, accept)


@router.get(
    "/entidades/{entidad_id}/indicadores",
    response_model=Indicadores,
    responses={200: CSV_DOCUMENTADO, **errores(404, 422)},
    summary="Datos abiertos: indicadores de una entidad por mes",
    description="Sin clave. Cada mes del rango (por defecto los últimos 12), aunque no tenga "
    "reclamos; mismas cifras y reglas que la lista de todas las entidades.",
)
async def indicadores_de_entidad(
    request: Request,
    quien: Quien,
    internos: Internos,
    entidad_id: Annotated[str, Path(pattern=r"^[a-z0-9-]{2,40}$", description="Id de la entidad")],
    desde: Mes = None,
    hasta: MesHasta = None,
    formato: FormatoQ = None,
    accept: Accept = None,
):
    return await _indicadores(request, internos, desde, hasta, entidad_id, formato, accept)
