"""plazos' HTTP contract."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class DiaNoLaborable(BaseModel):
    """A public-sector non-working day decreed by the government (added by an operator)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    motivo: str = Field(min_length=3, max_length=300, description="Norma que lo declara")


class Plazo(BaseModel):
    codigo: str
    entidad_id: str
    estado: str
    fecha_recepcion: date
    vence_en: datetime
    dias_habiles: int
    dias_habiles_usados: int | None = None
    dentro_del_plazo: bool | None = None
