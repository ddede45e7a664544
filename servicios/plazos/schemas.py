"""plazos' HTTP contract (shared with the gateway, which checks the same before forwarding)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from comun.eventos import Identificador, UnaLinea, VariasLineas
from comun.vocabulario import NivelGobierno
from servicios.plazos.consultas import leer_cursor

FORMATO_FECHA = r"^\d{4}-\d{2}-\d{2}$"


def fecha_del_calendario(valor: str) -> str:
    """A real calendar date written AAAA-MM-DD (date.fromisoformat alone would also take
    '20261208' or '2026-W50-2')."""
    if not re.fullmatch(FORMATO_FECHA, valor):
        raise ValueError("Debe ser una fecha AAAA-MM-DD")
    try:
        date.fromisoformat(valor)
    except ValueError:
        raise ValueError("No es una fecha del calendario") from None
    return valor


def _cursor(valor: str) -> str:
    leer_cursor(valor)  # a ValueError in Spanish
    return valor


Cursor = Annotated[
    str,
    Field(max_length=300, pattern=r"^[A-Za-z0-9_-]+$", description="Valor de `siguiente`"),
    AfterValidator(_cursor),
]


class DiaNoLaborable(BaseModel):
    """A public-sector non-working day decreed by the government (added by an operator)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    motivo: UnaLinea = Field(min_length=3, max_length=300, description="Norma que lo declara")


class DiaDeclarado(BaseModel):
    fecha: date
    motivo: str


class DiaRetirado(BaseModel):
    fecha: date


class EstadoPlazo(StrEnum):
    """corriendo; pausado (espera la subsanación); detenido (respondido); terminado (archivado
    o desistido)."""

    corriendo = "corriendo"
    pausado = "pausado"
    detenido = "detenido"
    terminado = "terminado"


class Plazo(BaseModel):
    # Every field is always sent: a generated client gets `X | None`, not "maybe absent".
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)
    codigo: str
    entidad_id: str
    estado: EstadoPlazo
    fecha_recepcion: date
    vence_en: datetime | None = Field(
        default=None, description="Nulo mientras el reloj está en pausa"
    )
    dias_habiles: int
    dias_habiles_usados: int | None = None
    dentro_del_plazo: bool | None = None
    vencido: bool = False
    reloj_pausado: bool = False
    subsanar_hasta: datetime | None = None


class FiltrosVencidos(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entidad: Identificador | None = None
    nivel: NivelGobierno | None = None
    pais: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    dias_min: int = Field(default=0, ge=0, le=1000, description="Días hábiles de atraso, mínimo")
    limite: int = Field(default=50, ge=1, le=200)
    cursor: Cursor | None = None


class ReclamoVencido(BaseModel):
    codigo: str
    entidad_id: str
    entidad_nombre: str
    nivel: str | None = None
    pais: str | None = None
    vence_en: datetime
    dias_habiles_vencido: int
    intervenciones: int


class PaginaVencidos(BaseModel):
    items: list[ReclamoVencido]
    siguiente: str | None = Field(description="Cursor de la página siguiente; nulo al final")


class NotaIntervencion(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nota: VariasLineas = Field(
        min_length=10, max_length=2000, description="Qué pide la SGP a la entidad"
    )


class IntervencionRegistrada(BaseModel):
    codigo: str
    entidad_id: str
    nota: str
    registrada_en: datetime


class IntervencionesEntidad(BaseModel):
    entidad_id: str
    intervenciones: int
