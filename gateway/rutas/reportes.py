"""Reports (issue 8): the figures each service keeps incrementally (comun.cifras), composed here.

Where each figure lives and which month it belongs to:
- derivacion (counts and states): reclamos received by motivo, channel and current state, open,
  and open past the deadline; by the entity and unit that hold them now and their registration
  month (Lima).
- plazos: answered, within the deadline, business days (a histogram: the median is exact); by the
  month of the answer. Interventions by the month they were registered in.
- encuestas: surveys answered, satisfaction, drivers and "solved"; by the month of the answer to
  the survey.

The services return additive sums per entity and per month; percentages, averages and the median
are derived here. Nothing reads the reclamos themselves.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from comun.tiempo import LIMA
from comun.vocabulario import Canal, EstadoReclamo, Motivo
from gateway.borde import respuesta_error
from gateway.credenciales import Credencial
from gateway.dependencias import Internos, Servicios, requiere
from gateway.modelos import COMUNES, errores
from servicios.encuestas.schemas import Impulsor

router = APIRouter(tags=["reportes"], responses=errores(*COMUNES))

PATRON_MES = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_MESES = 120


class NivelReporte(StrEnum):
    """Nivel de gobierno en los reportes: los consulados (tipo consulado o país distinto de PE)
    forman su propio grupo."""

    nacional = "nacional"
    regional = "regional"
    local = "local"
    consulado = "consulado"


class Formato(StrEnum):
    """Formato de la respuesta."""

    json = "json"
    csv = "csv"


class Cifras(BaseModel):
    """Cifras de un conjunto de reclamos. Los porcentajes y promedios son nulos sin datos."""

    recibidos: int = Field(description="Reclamos registrados en el periodo (derivacion)")
    por_motivo: dict[str, int] = Field(description="Recibidos por motivo")
    por_canal: dict[str, int] = Field(description="Recibidos por canal")
    por_estado: dict[str, int] = Field(description="Recibidos según su estado actual")
    abiertos: int = Field(description="Recibidos que siguen abiertos")
    vencidos_abiertos: int = Field(description="Abiertos con el plazo vencido")
    respondidos: int = Field(description="Respondidos en el periodo (plazos)")
    respondidos_a_tiempo: int = Field(description="Respondidos dentro del plazo legal")
    porcentaje_a_tiempo: float | None = Field(description="% de respondidos a tiempo")
    dias_habiles_promedio: float | None = Field(description="Días hábiles para responder, media")
    dias_habiles_mediana: float | None = Field(description="Días hábiles para responder, mediana")
    intervenciones: int = Field(description="Intervenciones de la SGP registradas en el periodo")
    encuestas_respondidas: int = Field(description="Encuestas respondidas en el periodo")
    satisfaccion: float | None = Field(description="Satisfacción general media, de 1 a 5")
    porcentaje_resuelto: float | None = Field(description="% que dijo que se resolvió su problema")
    impulsores: dict[str, float | None] = Field(description="Media de 1 a 5 de cada impulsor")


class CifrasMes(Cifras):
    mes: str = Field(description="Mes AAAA-MM (hora de Lima)")


class CifrasEntidad(Cifras):
    entidad_id: str
    nombre: str
    nivel: NivelReporte


class CifrasNivel(Cifras):
    nivel: NivelReporte


class Reporte(BaseModel):
    desde: str = Field(description="Primer mes, AAAA-MM")
    hasta: str = Field(description="Último mes, AAAA-MM")
    entidad: str | None = Field(description="La entidad del reporte, o nula para todas")
    unidad: str | None = Field(description="La unidad, para una clave de unidad")
    nivel: NivelReporte | None = Field(description="El nivel de gobierno pedido")
    total: Cifras
    por_mes: list[CifrasMes]
    por_entidad: list[CifrasEntidad]
    por_nivel: list[CifrasNivel]


# --- composing (pure) ---------------------------------------------------------------------------


def mediana(histograma: dict[int, int | float]) -> float | None:
    """The exact median of the values a {value: count} histogram describes."""
    total = int(sum(histograma.values()))
    if total <= 0:
        return None
    # The two middle positions (the same one when total is odd), 0-based.
    medio_bajo, medio_alto = (total - 1) // 2, total // 2
    bajo = alto = None
    visto = 0
    for valor in sorted(histograma):
        visto += int(histograma[valor])
        if bajo is None and visto > medio_bajo:
            bajo = valor
        if visto > medio_alto:
            alto = valor
            break
    assert bajo is not None and alto is not None
    return (bajo + alto) / 2


def _pct(parte: float, todo: float) -> float | None:
    return round(100 * parte / todo, 1) if todo else None


def _media(suma: float, n: float) -> float | None:
    return round(suma / n, 2) if n else None


def cifras(v: dict[str, float]) -> dict[str, Any]:
    """Cifras from the flat sums of the three services (comun.cifras)."""

    def n(clave: str) -> int:
        return int(v.get(clave, 0))

    respondidos, encuestas = n("respondidos"), n("encuestas")
    histograma = {int(k.split(":", 1)[1]): c for k, c in v.items() if k.startswith("dias:") and c}
    return {
        "recibidos": n("recibidos"),
        "por_motivo": {m.value: n(f"motivo:{m.value}") for m in Motivo},
        "por_canal": {c.value: n(f"canal:{c.value}") for c in Canal},
        "por_estado": {e.value: n(f"estado:{e.value}") for e in EstadoReclamo},
        "abiertos": n("abiertos"),
        "vencidos_abiertos": n("vencidos_abiertos"),
        "respondidos": respondidos,
        "respondidos_a_tiempo": n("a_tiempo"),
        "porcentaje_a_tiempo": _pct(n("a_tiempo"), respondidos),
        "dias_habiles_promedio": _media(v.get("dias_suma", 0), respondidos),
        "dias_habiles_mediana": mediana(histograma),
        "intervenciones": n("intervenciones"),
        "encuestas_respondidas": encuestas,
        "satisfaccion": _media(v.get("satisfaccion_suma", 0), encuestas),
        "porcentaje_resuelto": _pct(n("resueltos"), encuestas),
        "impulsores": {
            i.value: _media(v.get(f"impulsores:{i.value}:suma", 0), n(f"impulsores:{i.value}:n"))
            for i in Impulsor
        },
    }


def juntar(*partes: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """{key: sums} of several services → one {key: sums} (their counters never collide)."""
    junto: dict[str, dict[str, float]] = {}
    for parte in partes:
        for clave, valores in parte.items():
            destino = junto.get(clave)
            if destino is None:
                junto[clave] = dict(valores)
            else:
                _sumar_en(destino, valores)
    return junto


def _sumar_en(destino: dict[str, float], valores: dict[str, float]) -> None:
    anterior = destino.get
    for k, x in valores.items():
        destino[k] = anterior(k, 0) + x


def componer(
    grupos: list[dict[str, dict[str, dict[str, float]]]],
    entidades: dict[str, dict[str, str]],
    desde: str,
    hasta: str,
    alcance: dict[str, Any],
) -> dict[str, Any]:
    """The report from each service's groups ("entidad" and "mes") and the catalogue."""
    por_entidad = juntar(*(g.get("entidad", {}) for g in grupos))
    por_mes = juntar(*(g.get("mes", {}) for g in grupos))
    # Summed in place: one pass over the entities, not a copy of the levels per entity.
    niveles: dict[str, dict[str, float]] = {}
    for entidad_id, valores in por_entidad.items():
        nivel = entidades.get(entidad_id, {}).get("nivel", "nacional")
        _sumar_en(niveles.setdefault(nivel, {}), valores)
    total: dict[str, float] = {}
    for valores in por_mes.values():
        _sumar_en(total, valores)
    return {
        "desde": desde,
        "hasta": hasta,
        **alcance,
        "total": cifras(total),
        "por_mes": [{"mes": m, **cifras(por_mes[m])} for m in sorted(por_mes)],
        "por_entidad": [
            {
                "entidad_id": e,
                "nombre": entidades.get(e, {}).get("nombre", e),
                "nivel": entidades.get(e, {}).get("nivel", "nacional"),
                **cifras(por_entidad[e]),
            }
            for e in sorted(por_entidad)
        ],
        "por_nivel": [
            {"nivel": n, **cifras(niveles[n])} for n in NivelReporte if n.value in niveles
        ],
    }


COLUMNAS = [
    "recibidos",
    "abiertos",
    "vencidos_abiertos",
    "respondidos",
    "respondidos_a_tiempo",
    "porcentaje_a_tiempo",
    "dias_habiles_promedio",
    "dias_habiles_mediana",
    "intervenciones",
    "encuestas_respondidas",
    "satisfaccion",
    "porcentaje_resuelto",
]


def _celda(valor: Any) -> Any:
    return "" if valor is None else valor


def a_csv(filas: list[dict[str, Any]], columnas: list[str]) -> bytes:
    """UTF-8 with a BOM (spreadsheets then read the accents right), a header row, CRLF lines."""
    salida = io.StringIO()
    escritor = csv.writer(salida)
    escritor.writerow(columnas)
    for fila in filas:
        escritor.writerow([_celda(fila.get(c)) for c in columnas])
    return ("\ufeff" + salida.getvalue()).encode("utf-8")


def reporte_csv(reporte: dict[str, Any]) -> bytes:
    """One row per group: the total, each month, each entity, each level."""
    columnas = [
        "grupo",
        "clave",
        "nombre",
        "nivel",
        *COLUMNAS,
        *(f"motivo_{m.value}" for m in Motivo),
        *(f"canal_{c.value}" for c in Canal),
        *(f"estado_{e.value}" for e in EstadoReclamo),
        *(f"impulsor_{i.value}" for i in Impulsor),
    ]

    def plana(grupo: str, clave: str, c: dict[str, Any], **extra: Any) -> dict[str, Any]:
        fila = {"grupo": grupo, "clave": clave, **extra, **{k: c[k] for k in COLUMNAS}}
        fila |= {f"motivo_{k}": x for k, x in c["por_motivo"].items()}
        fila |= {f"canal_{k}": x for k, x in c["por_canal"].items()}
        fila |= {f"estado_{k}": x for k, x in c["por_estado"].items()}
        fila |= {f"impulsor_{k}": x for k, x in c["impulsores"].items()}
        return fila

    filas = [plana("total", f"{reporte['desde']}..{reporte['hasta']}", reporte["total"])]
    filas += [plana("mes", f["mes"], f) for f in reporte["por_mes"]]
    filas += [
        plana("entidad", f["entidad_id"], f, nombre=f["nombre"], nivel=f["nivel"])
        for f in reporte["por_entidad"]
    ]
    filas += [plana("nivel", f["nivel"], f, nivel=f["nivel"]) for f in reporte["por_nivel"]]
    return a_csv(filas, columnas)


def mes_actual() -> str:
    return datetime.now(LIMA).strftime("%Y-%m")


def meses_atras(mes: str, n: int) -> str:
    anio, m = int(mes[:4]), int(mes[5:])
    total = anio * 12 + (m - 1) - n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def meses_entre(desde: str, hasta: str) -> int:
    return (int(hasta[:4]) * 12 + int(hasta[5:])) - (int(desde[:4]) * 12 + int(desde[5:])) + 1


class RangoInvalido(ValueError):
    def respuesta(self) -> JSONResponse:
        mensaje = str(self)
        return respuesta_error(
            422, "datos_invalidos", "Hay datos inválidos.", [{"campo": "desde", "mensaje": mensaje}]
        )


def rango(desde: str | None, hasta: str | None) -> tuple[str, str]:
    """The months asked for; by default the last 12 (Lima)."""
    hasta = hasta or mes_actual()
    desde = desde or meses_atras(hasta, 11)
    if desde > hasta:
        raise RangoInvalido("No puede ser posterior a `hasta`")
    if meses_entre(desde, hasta) > MAX_MESES:
        raise RangoInvalido(f"El rango no puede superar {MAX_MESES} meses")
    return desde, hasta


def quiere_csv(formato: Formato | None, accept: str | None) -> bool:
    if formato is not None:
        return formato == Formato.csv
    return "text/csv" in (accept or "")


# --- calling the services -------------------------------------------------------------------------


class _Recientes:
    """A small LRU of the latest answers, per gateway process (a bound on memory, not on time:
    an entry is used only while its fingerprint is the current one)."""

    def __init__(self, maximo: int) -> None:
        self._datos: OrderedDict[Hashable, Any] = OrderedDict()
        self._maximo = maximo

    def get(self, clave: Hashable) -> Any:
        valor = self._datos.get(clave)
        if valor is not None:
            self._datos.move_to_end(clave)
        return valor

    def put(self, clave: Hashable, valor: Any) -> None:
        self._datos[clave] = valor
        self._datos.move_to_end(clave)
        while len(self._datos) > self._maximo:
            self._datos.popitem(last=False)


# Each service's last answer per question, with its ETag: asked again with If-None-Match, a
# service whose figures did not change answers 304 without summing or sending them.
_CIFRAS = _Recientes(48)
# Composed responses by the ETags of the three answers: the same figures are composed once.
_RESPUESTAS = _Recientes(16)


async def pedir_cifras(
    request: Request,
    internos: Servicios,
    servicio: str,
    quien: Credencial,
    params: dict[str, str],
) -> tuple[dict[str, Any], str | None]:
    """A service's `GET /cifras` (its JSON as a dict) and its ETag; its 403 and 422 kept,
    failures 502/503. The ETag names the exact state the service read (comun.cifras)."""
    clave = (servicio, quien.rol, quien.entidad, quien.unidad, tuple(sorted(params.items())))
    guardada = _CIFRAS.get(clave)
    cabeceras = internos.cabeceras(request, quien)
    if guardada is not None:
        cabeceras["If-None-Match"] = guardada[0]
    peticion = internos.cliente.build_request(
        "GET", internos.urls[servicio] + "/cifras", params=params, headers=cabeceras
    )
    r = await internos.enviar(peticion)
    if r.status_code == 304 and guardada is not None:
        return guardada[1], guardada[0]
    if r.status_code in (403, 422):
        raise HTTPException(r.status_code, r.json().get("mensaje"))
    if r.status_code != 200:
        raise HTTPException(502, "El servicio interno falló; intente nuevamente.")
    datos = r.json()
    huella = r.headers.get("ETag")
    if huella:
        _CIFRAS.put(clave, (huella, datos))
    return datos, huella


@dataclass
class Reunido:
    """What the three services answered: their groups, derivacion's catalogue, and an ETag for
    all of it (None when a service gave none: a unit's or one entity's buckets)."""

    grupos: list[dict]
    catalogo: dict[str, dict[str, str]]
    huella: str | None


async def reunir(
    request: Request,
    internos: Servicios,
    quien: Credencial,
    desde: str,
    hasta: str,
    entidades: list[str] | None,
    nivel: str | None,
    agrupar: str,
    campos: list[str] | None = None,
) -> Reunido:
    """Each service's groups and the catalogue (derivacion's). With `nivel`, derivacion says which
    entities are of that level first; else the three are asked at once. `campos`: only those
    counters (comun.cifras.leer)."""
    params = {"desde": desde, "hasta": hasta, "agrupar": agrupar}
    if entidades:
        params["entidades"] = ",".join(entidades)
    if campos is not None:
        params["campos"] = ",".join(campos)
    if nivel:
        derivacion = await pedir_cifras(
            request, internos, "derivacion", quien, {**params, "nivel": nivel}
        )
        seleccion = derivacion[0].get("seleccion")
        if seleccion is not None and not seleccion:
            return Reunido([derivacion[0]["grupos"]], derivacion[0]["entidades"], None)
        if seleccion:
            params["entidades"] = ",".join(seleccion)
        otros = await asyncio.gather(
            pedir_cifras(request, internos, "plazos", quien, params),
            pedir_cifras(request, internos, "encuestas", quien, params),
        )
    else:
        derivacion, *otros = await asyncio.gather(
            pedir_cifras(request, internos, "derivacion", quien, params),
            pedir_cifras(request, internos, "plazos", quien, params),
            pedir_cifras(request, internos, "encuestas", quien, params),
        )
    respuestas = [derivacion, *otros]
    huellas = [h for _, h in respuestas]
    return Reunido(
        [datos["grupos"] for datos, _ in respuestas],
        derivacion[0]["entidades"],
        None if None in huellas else "|".join(huellas),  # type: ignore[arg-type]
    )


def respuesta_en_cache(
    request: Request,
    pregunta: tuple,
    reunido: Reunido,
    componer_cuerpo: Callable[[], bytes],
    media: str,
    cabeceras: dict[str, str],
) -> Response:
    """The response for `pregunta` (everything the body depends on besides the figures): built
    once per state of the figures, with an ETag that names that state, and a 304 to a client
    that already has it (If-None-Match)."""
    if reunido.huella is None:
        return Response(componer_cuerpo(), media_type=media, headers=cabeceras)
    etiqueta = _huella(pregunta, media, reunido.huella)
    cabeceras = {**cabeceras, "ETag": etiqueta}
    if etiqueta in _etiquetas(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=cabeceras)
    cuerpo = _RESPUESTAS.get(etiqueta)
    if cuerpo is None:
        cuerpo = componer_cuerpo()
        _RESPUESTAS.put(etiqueta, cuerpo)
    return Response(cuerpo, media_type=media, headers=cabeceras)


def _huella(*partes: object) -> str:
    return '"' + hashlib.sha256(repr(partes).encode()).hexdigest()[:32] + '"'


def _etiquetas(si_no_coincide: str | None) -> set[str]:
    """The ETags of an If-None-Match header (weak ones compare by their opaque part)."""
    return {e.strip().removeprefix("W/") for e in (si_no_coincide or "").split(",") if e.strip()}


def a_json(cuerpo: Any) -> bytes:
    """A body already shaped as its declared model: rendered once, not validated again."""
    texto = json.dumps(cuerpo, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return texto.encode("utf-8")


Mes = Annotated[
    str | None, Query(pattern=PATRON_MES, description="Mes AAAA-MM (por defecto: hace 11 meses)")
]
MesHasta = Annotated[
    str | None, Query(pattern=PATRON_MES, description="Mes AAAA-MM (por defecto: el actual)")
]
FormatoQ = Annotated[
    Formato | None, Query(description="`csv` o `json`; sin él, según la cabecera Accept")
]
Accept = Annotated[str | None, Header(include_in_schema=False)]
# A staff report may be kept by the client, but checked again (ETag) before each use.
PRIVADA = {"Cache-Control": "private, no-cache", "Vary": "Accept, X-API-Key"}
CSV_DOCUMENTADO = {
    "content": {"text/csv": {"schema": {"type": "string", "description": "CSV UTF-8 con BOM"}}}
}


@router.get(
    "/reportes",
    response_model=Reporte,
    responses={200: CSV_DOCUMENTADO, **errores(403, 422)},
    summary="Reporte de reclamos, plazos y satisfacción por mes, entidad y nivel",
    description="El supervisor ve todas las entidades (o filtra por `entidad` y `nivel`); una "
    "clave de entidad, solo la suya; una clave de unidad, solo su unidad. Recibidos, motivos, "
    "canales y estado actual cuentan por el mes de registro; respondidos, a tiempo y días "
    "hábiles, por el mes de la respuesta; intervenciones, por su mes; la satisfacción, por el "
    "mes en que se respondió la encuesta (hora de Lima). En CSV con `formato=csv` o "
    "`Accept: text/csv` (UTF-8 con BOM, una fila por grupo).",
)
async def reporte(
    request: Request,
    quien: Annotated[Credencial, Depends(requiere("entidad", "supervisor"))],
    internos: Internos,
    desde: Mes = None,
    hasta: MesHasta = None,
    entidad: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{2,40}$")] = None,
    nivel: Annotated[NivelReporte | None, Query(description="Nivel de gobierno")] = None,
    formato: FormatoQ = None,
    accept: Accept = None,
):
    try:
        desde, hasta = rango(desde, hasta)
    except RangoInvalido as exc:
        return exc.respuesta()
    if quien.rol == "entidad":
        if entidad and entidad != quien.entidad:
            raise HTTPException(403, "Solo puede ver los reportes de su entidad.")
        entidad = quien.entidad
    reunido = await reunir(
        request,
        internos,
        quien,
        desde,
        hasta,
        [entidad] if entidad else None,
        nivel.value if nivel else None,
        "entidad,mes",
    )
    alcance = {"entidad": entidad, "unidad": quien.unidad, "nivel": nivel}
    en_csv = quiere_csv(formato, accept)

    def cuerpo() -> bytes:
        datos = componer(reunido.grupos, reunido.catalogo, desde, hasta, alcance)
        if en_csv:
            return reporte_csv(datos)
        return a_json(Reporte.model_validate(datos).model_dump(mode="json"))

    # Who asks is part of the question: the same figures, another scope, another answer.
    pregunta = ("reporte", desde, hasta, entidad, nivel, quien.rol, quien.entidad, quien.unidad)
    media = "text/csv; charset=utf-8" if en_csv else "application/json"
    return respuesta_en_cache(request, pregunta, reunido, cuerpo, media, PRIVADA)
